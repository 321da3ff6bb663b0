//! Reading a school file into a [`School`], now or at past heads (the
//! same rules for both: [`View`]), and the files its review logs name
//! ([`SchoolDoc::logged_files`]), read from its history.

use super::SchoolDoc;
use super::model::{
    Assignment, Blob, Decision, DocumentKind, FiledDocument, PersonRef, Review, Risk, School, Stage, Survey,
    Visit,
};
use crate::ids::{DocumentId, RowId};
use crate::typed_doc::{Fields, View};
use automerge::{ObjId, ObjType, ROOT};

pub(super) fn read_school(doc: View<'_>) -> School {
    // The root in one pass too: the monitoring dashboard reads five hundred
    // files at a past date, where each read works out the date's clock.
    let root = doc.fields(&ROOT);
    let rows_of = |key: &str| root.object(key, ObjType::Map).map(|map| doc.rows(&map)).unwrap_or_default();
    let mut visits: Vec<Visit> = rows_of("visits")
        .into_iter()
        .filter_map(|(id, obj)| {
            let fields = doc.fields(&obj);
            (!fields.bool("deleted")).then(|| read_visit(id, &fields))
        })
        .collect();
    visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    School {
        unit: root.str("school"),
        stage: Stage::from_key(&root.str("stage")).unwrap_or_default(),
        assignment: root
            .object("assignment", ObjType::Map)
            .map(|obj| read_assignment(&doc.fields(&obj)))
            .unwrap_or_default(),
        survey: read_survey(&root),
        visits,
        risks: rows_of("risks")
            .into_iter()
            .map(|(factor, obj)| read_risk(factor, &doc.fields(&obj)))
            .collect(),
        documents: rows_of("documents")
            .into_iter()
            .filter_map(|(id, obj)| read_document(doc, id, &obj))
            .collect(),
    }
}

/// From the root's fields.
fn read_survey(root: &Fields) -> Option<Survey> {
    let on = root.str("survey_on");
    (!on.is_empty())
        .then(|| Survey { on, by: PersonRef { id: root.str("survey_by"), name: root.str("survey_by_name") } })
}

fn read_assignment(fields: &Fields) -> Assignment {
    let person = |role: &str| {
        let id = fields.str(&format!("{role}_id"));
        (!id.is_empty()).then(|| PersonRef { id, name: fields.str(&format!("{role}_name")) })
    };
    Assignment { curator: person("curator"), coordinator: person("coordinator") }
}

fn read_visit(id: String, fields: &Fields) -> Visit {
    let s = |key: &str| fields.str(key);
    Visit {
        id: RowId::new(id),
        date: s("date"),
        purpose: s("purpose"),
        people_met: s("people_met"),
        findings: s("findings"),
        recommendations: s("recommendations"),
        evaluation: s("evaluation"),
        author: PersonRef { id: s("author_id"), name: s("author_name") },
    }
}

fn read_risk(factor: String, fields: &Fields) -> Risk {
    Risk {
        factor,
        active: fields.bool("active"),
        programme: DocumentId::parse(&fields.str("programme")).ok(),
        note: fields.str("note"),
    }
}

/// `None` for a document of a kind this version does not know.
fn read_document(doc: View<'_>, id: String, obj: &ObjId) -> Option<FiledDocument> {
    let fields = doc.fields(obj);
    let kind = DocumentKind::from_key(&fields.str("kind"))?;
    let file = fields.object("file", ObjType::Map).map(|f| read_blob(doc, &f));
    let mut reviews: Vec<Review> = match fields.object("reviews", ObjType::List) {
        Some(list) => doc
            .list_range(&list)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
            .filter_map(|item| read_review(&doc.fields(&item.id())))
            .collect(),
        None => Vec::new(),
    };
    reviews.sort_by(|a, b| {
        (a.at_ms, &a.by.id, a.decision, &a.remarks, &a.file)
            .cmp(&(b.at_ms, &b.by.id, b.decision, &b.remarks, &b.file))
    });
    Some(FiledDocument { id: RowId::new(id), kind, title: fields.str("title"), file, reviews })
}

fn read_blob(doc: View<'_>, obj: &ObjId) -> Blob {
    let f = doc.fields(obj);
    Blob {
        address: f.str("address"),
        name: f.str("name"),
        size: f.i64("size").and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        mime: f.str("mime"),
    }
}

fn read_review(fields: &Fields) -> Option<Review> {
    Some(Review {
        decision: Decision::from_key(&fields.str("decision"))?,
        remarks: fields.str("remarks"),
        by: PersonRef { id: fields.str("by"), name: fields.str("by_name") },
        at_ms: fields.i64("at").unwrap_or(0),
        file: fields.str("file"),
    })
}

impl SchoolDoc {
    /// Every file a filed document's review log names, each as it was
    /// attached (its name, size and type then), oldest entry first, per
    /// document: how the log names an earlier version and offers it for
    /// download. Read from history: an entry is written by a change that
    /// saw the file it names, so the document's file as of that change is
    /// the one (an entry whose change saw another file, which this app
    /// never writes, is left without one).
    pub fn logged_files(&self) -> Vec<(RowId, Vec<Blob>)> {
        let now = self.now();
        let Some(documents) = now.map(&ROOT, "documents") else { return Vec::new() };
        let mut out = Vec::new();
        for id in now.keys(&documents) {
            let Some(document) = now.map(&documents, &id) else { continue };
            let Some(reviews) = now.list(&document, "reviews") else { continue };
            let mut files: Vec<Blob> = Vec::new();
            for item in now.list_range(&reviews) {
                let entry = item.id();
                let address = now.str(&entry, "file").unwrap_or_default();
                if address.is_empty() || files.iter().any(|f| f.address == address) {
                    continue;
                }
                let Some(made_in) = self.doc.hash_for_opid(&entry) else { continue };
                let heads = [made_in];
                let then = View::at(&self.doc, &heads);
                if let Some(file) = then.map(&document, "file").map(|f| read_blob(then, &f))
                    && file.address == address
                {
                    files.push(file);
                }
            }
            if !files.is_empty() {
                out.push((RowId::new(id), files));
            }
        }
        out
    }
}
