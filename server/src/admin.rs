//! `medk-server admin ...`: accounts, units and access from the command line,
//! for the first administrator and for scripts. Works on the data dir
//! directly, so the server must be stopped (the app's «Люди и доступ» screen
//! does the same while it runs).

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use medk_shared::access::{Level, Right, Role};
use medk_shared::ids::DocumentId;

use crate::accounts::Accounts;

#[derive(Args)]
pub struct AdminArgs {
    /// The server's data dir.
    #[arg(long, value_name = "DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// The PostgreSQL the server keeps its documents in, if it does
    /// (`serve --database`).
    #[arg(long, value_name = "URL", env = "MEDK_DATABASE_URL", hide_env_values = true, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates an account; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        login: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// federal-coordinator, regional-coordinator, municipal-coordinator, curator, school-team, observer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The person's unit (default: the root, for a federal coordinator).
        #[arg(long, default_value = medk_shared::access::ROOT_UNIT)]
        unit: String,
        /// Full name as others see it (default: the login).
        #[arg(long, default_value = "")]
        name: String,
        /// A curator's school (repeat for several).
        #[arg(long = "school")]
        schools: Vec<String>,
    },
    /// Lists accounts.
    ListUsers,
    /// Adds a unit to the organisation tree; prints its id.
    CreateUnit {
        #[arg(long)]
        parent: String,
        /// region, municipality or school.
        #[arg(long, value_parser = parse_level)]
        level: Level,
        #[arg(long)]
        name: String,
        /// A chosen id (default: a random one).
        #[arg(long)]
        id: Option<String>,
    },
    /// Lists the organisation tree.
    ListUnits,
    /// Gives a person an explicit right on a roadmap (`default` removes the explicit entry).
    Grant {
        #[arg(long)]
        login: String,
        /// The roadmap's id (or automerge: URL).
        #[arg(long)]
        roadmap: String,
        /// read, write, none or default.
        #[arg(long)]
        right: String,
    },
    /// Takes a person's access to a roadmap away (an explicit `none`).
    Revoke {
        #[arg(long)]
        login: String,
        #[arg(long)]
        roadmap: String,
    },
    /// Sets a new password (read from standard input) and ends the person's sessions.
    ResetPassword {
        #[arg(long)]
        login: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role {text:?}; one of {}", all.join(", "))
    })
}

fn parse_level(text: &str) -> Result<Level, String> {
    serde_json::from_value(serde_json::Value::String(text.into()))
        .map_err(|_| format!("unknown level {text:?}; one of region, municipality, school"))
}

fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading the password from standard input")?;
    let password = text.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    crate::private::create_dir(&args.data_dir)
        .with_context(|| format!("creating the data dir {}", args.data_dir.display()))?;
    let accounts = Accounts::open(&args.data_dir)?;
    match args.command {
        AdminCommand::CreateUser { login, password_stdin: _, role, unit, name, schools } => {
            let password = read_password()?;
            if !schools.is_empty() && role != Role::Curator {
                bail!("--school is for curators only (the curator of a school is who serves it)");
            }
            accounts.org().check_person(role, &unit, &schools)?;
            let person = accounts.create_person(&login, &name, &password, role, &unit, Vec::new())?;
            println!("created {} ({}, {})", person.login, person.role.as_str(), person.unit);
            if !schools.is_empty() {
                // Written into the schools' files, which give the rights,
                // as when a coordinator assigns the curator in the app.
                let store = crate::store::open(&args.data_dir, args.database.as_deref())?;
                let changes = person.school_changes(&schools);
                crate::assignment::write_to_store(&*store, &accounts, &person, &changes, "")?;
                println!("assigned as the curator of {}", schools.join(", "));
            }
        }
        AdminCommand::ListUsers => {
            for p in accounts.people() {
                let disabled = if p.disabled { " (disabled)" } else { "" };
                let schools = if p.schools.is_empty() {
                    String::new()
                } else {
                    format!(" schools={}", p.schools.join(","))
                };
                println!("{}\t{}\t{}\t{}{schools}{disabled}", p.login, p.role.as_str(), p.unit, p.name);
            }
        }
        AdminCommand::CreateUnit { parent, level, name, id } => {
            let unit = accounts.add_unit(&parent, level, &name, id.as_deref())?;
            println!("{}", unit.id);
        }
        AdminCommand::ListUnits => {
            let org = accounts.org();
            let mut units: Vec<_> = org.units().collect();
            units.sort_by_key(|u| {
                org.path(&u.id).into_iter().rev().map(|p| p.name.clone()).collect::<Vec<_>>()
            });
            for u in units {
                let depth = org.path(&u.id).len() - 1;
                println!("{}{}\t{:?}\t{}", "  ".repeat(depth), u.id, u.level, u.name);
            }
        }
        AdminCommand::Grant { login, roadmap, right } => {
            let right = match right.as_str() {
                "default" => None,
                other => Some(Right::parse(other).context("--right is read, write, none or default")?),
            };
            set_grant(&accounts, &login, &roadmap, right)?;
        }
        AdminCommand::Revoke { login, roadmap } => set_grant(&accounts, &login, &roadmap, Some(Right::None))?,
        AdminCommand::ResetPassword { login, password_stdin: _ } => {
            let person = accounts.person_by_login(&login).with_context(|| format!("no account {login:?}"))?;
            let password = read_password()?;
            accounts.set_password(&person.id, &password, None)?;
            println!("password of {} changed; their sessions ended", person.login);
        }
    }
    Ok(())
}

fn set_grant(accounts: &Accounts, login: &str, roadmap: &str, right: Option<Right>) -> anyhow::Result<()> {
    let person = accounts.person_by_login(login).with_context(|| format!("no account {login:?}"))?;
    let id =
        DocumentId::parse(roadmap).map_err(|e| anyhow::anyhow!("{roadmap:?} is not a roadmap id: {e}"))?;
    accounts
        .update_roadmap(&id, |_, r| {
            r.set_grant(&person.id, right);
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("roadmap {id}: {e} (a roadmap is known once someone has synced it)"))?;
    let what = right.map_or("its default right", Right::as_str);
    println!("{} now has {what} on {id}", person.login);
    Ok(())
}
