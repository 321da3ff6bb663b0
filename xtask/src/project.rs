//! Where things live in the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Project {
    /// The workspace root; xtask makes it the working directory at start so
    /// `cargo xtask` behaves the same from any subdirectory.
    pub root: PathBuf,
}

impl Project {
    /// Prefers the `CARGO_MANIFEST_DIR` that `cargo run` sets at run time
    /// over the compiled-in one, which goes stale when a checkout is copied
    /// or moved along with its `target/`.
    pub fn locate() -> Self {
        let xtask_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        let root = xtask_dir.parent().expect("xtask/ sits in the workspace root");
        Project { root: root.to_path_buf() }
    }

    /// Installed tools (ignored by git).
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join(".tools")
    }

    /// The built app, as the server serves it.
    pub fn dist_dir(&self) -> PathBuf {
        self.root.join("dist")
    }

    /// The server's state for `cargo xtask run`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The source of the page and static files the app ships (`index.html`,
    /// `static/`).
    pub fn app_dir(&self) -> PathBuf {
        self.root.join("app")
    }

    pub fn e2e_dir(&self) -> PathBuf {
        self.root.join("e2e")
    }

    /// Cargo's output, honouring `CARGO_TARGET_DIR`.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// `cargo` from PATH (the rustup proxy picks the same toolchain that
    /// runs us; `$CARGO` would echo as a long toolchain path).
    pub fn cargo(&self) -> Command {
        Command::new("cargo")
    }

    /// `path` relative to the root, for messages.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }
}
