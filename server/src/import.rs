//! `medk-server import FILE.docx`: reads a Word roadmap with the parser the
//! app uses (`medk_shared::office::import`) and either prints what it found
//! (`--dry-run`, as a summary or `--json`) or stores it as a new roadmap of an
//! org unit, ready to sync. Storing works on the data dir directly, so the
//! server must be stopped, as for `admin`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use medk_shared::access::Level;
use medk_shared::ids::{DocumentId, RowId};
use medk_shared::office::import::{ParsedRoadmap, parse_docx};

use crate::accounts::{Accounts, random_bytes};
use crate::store::Write;

#[derive(Args)]
pub struct ImportArgs {
    /// The .docx file.
    file: PathBuf,
    /// Only parse and print; store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// The org unit the roadmap belongs to (required unless --dry-run).
    #[arg(long, required_unless_present = "dry_run")]
    unit: Option<String>,
    /// Visible to observers and to units below.
    #[arg(long)]
    published: bool,
    /// The day the plan was adopted: monitoring counts it from then, also
    /// on dates before the import.
    #[arg(long, value_name = "YYYY-MM-DD")]
    adopted_on: Option<String>,
    /// The server's data dir.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The PostgreSQL the server keeps its documents in, if it does
    /// (`serve --database`).
    #[arg(long, value_name = "URL", env = "MEDK_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let mut parsed = parse_docx(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    if args.dry_run {
        print(&parsed, args.json, None)?;
        return Ok(());
    }
    let Some(unit) = args.unit.as_deref() else { bail!("--unit is required to store the roadmap") };
    crate::private::create_dir(&args.data_dir)
        .with_context(|| format!("creating the data dir {}", args.data_dir.display()))?;
    let accounts = Accounts::open(&args.data_dir)?;
    let org = accounts.org();
    let Some(unit_level) = org.get(unit).map(|u| u.level) else {
        bail!("no unit {unit:?} (see `medk-server admin list-units`)")
    };
    if let Some(day) = &args.adopted_on {
        if medk_shared::deadline::parse_iso(day).is_none() {
            bail!("--adopted-on {day:?} is not a date as YYYY-MM-DD");
        }
        parsed.adopted_on = day.trim().to_owned();
    }
    if parsed.level.is_none() {
        parsed.level = Some(unit_level);
    }
    let time_ms = i64::try_from(crate::accounts::now()).unwrap_or(0) * 1000;
    let mut document = parsed
        .to_document(&mut random_row_id, time_ms, "", &file_name(&args.file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    // Registered here, so nobody need claim it; its id follows its origin
    // like every roadmap's.
    let id = document.stamp_origin("", random_bytes(), time_ms);
    let store = crate::store::open(&args.data_dir, args.database.as_deref())?;
    store.commit(vec![Write::Replace { doc: id, snapshot: document.save() }])?;
    accounts.register_roadmap(&id, unit, args.published)?;
    print(&parsed, args.json, Some(&id))
}

fn print(parsed: &ParsedRoadmap, json: bool, stored: Option<&DocumentId>) -> anyhow::Result<()> {
    if json {
        let mut value = parsed.to_json();
        if let (Some(id), Some(object)) = (stored, value.as_object_mut()) {
            object.insert("url".into(), id.url().into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{}", parsed.title);
    println!("уровень: {}", parsed.level.map_or("не определён", Level::roadmap_label));
    println!("столбцы:");
    for column in &parsed.columns {
        let field = column.field.map_or("— не переносится", |f| f.label_ru());
        println!("  {} → {field}", column.title);
    }
    for section in &parsed.sections {
        println!("{} — мероприятий: {}", section.title, section.activities.len());
    }
    println!("рабочая группа: {} чел.", parsed.working_group.len());
    for warning in &parsed.warnings {
        println!("предупреждение: {warning}");
    }
    if let Some(id) = stored {
        println!("сохранена как {}", id.url());
    }
    Ok(())
}

fn random_row_id() -> RowId {
    RowId::from_random(random_bytes())
}

/// The name of the imported file, as the roadmap's history names it.
fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
