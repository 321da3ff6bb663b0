//! The other tabs of this browser, which share its storage: a tab that
//! stored something of a document (an edit, changes from the relay, a
//! compaction, a new or deleted document, a recount) posts the document's
//! id on a `BroadcastChannel`; the others read what storage holds of it
//! (`medk_shared::sync::device`, [`Input::StoredElsewhere`]).
//!
//! Storage is the source of truth, the channel only a hint: what comes on
//! it is trusted for nothing but naming a document (anything else is
//! dropped), so a message from any script of this origin can at most make a
//! tab read its own storage once more.
//!
//! [`Input::StoredElsewhere`]: medk_shared::sync::device::Input::StoredElsewhere

use std::rc::Rc;

use medk_shared::ids::DocumentId;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BroadcastChannel, MessageEvent};

const CHANNEL: &str = "medk.stored";
/// A document id as text is far shorter: longer messages are not parsed.
const MAX_MESSAGE: usize = 128;

/// This tab's end of the channel. Cheap to clone.
#[derive(Clone)]
pub struct Tabs(Option<Rc<BroadcastChannel>>);

impl Tabs {
    /// Joins the channel (nothing happens where the browser has none).
    pub fn join() -> Tabs {
        Tabs(BroadcastChannel::new(CHANNEL).ok().map(Rc::new))
    }

    /// Tells the other tabs this one stored something of `doc`.
    pub fn stored(&self, doc: &str) {
        if let Some(channel) = &self.0 {
            // A closed channel or a failed post costs the others only the
            // hint: they read storage at their next opening anyway.
            let _ = channel.post_message(&doc.into());
        }
    }

    /// Calls `f` with each document another tab says it stored something
    /// of (never with anything that is not a document id).
    pub fn listen(&self, f: Rc<dyn Fn(DocumentId)>) {
        let Some(channel) = &self.0 else { return };
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            if let Some(doc) = event.dyn_ref::<MessageEvent>().and_then(|e| named(&e.data())) {
                f(doc);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // Listened to as long as the page lives.
        on_message.forget();
    }
}

/// The document a message names, if that is all it is.
fn named(data: &wasm_bindgen::JsValue) -> Option<DocumentId> {
    let text = data.as_string()?;
    if text.len() > MAX_MESSAGE {
        return None;
    }
    DocumentId::parse(&text).ok()
}
