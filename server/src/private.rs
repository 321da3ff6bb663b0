//! Files and directories only the server's user may read or write: the
//! data dir holds password hashes, sessions, the key that signs device
//! cookies and the documents schools attach, so nothing in it is 0644.
//!
//! New files and directories are made private from the start (a mode at
//! creation, not a `chmod` after, which would leave a moment when they are
//! not); what an older server or a copy left looser is tightened on open.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// A private file's mode.
pub const FILE_MODE: u32 = 0o600;
/// A private directory's mode.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) as private, and tightens it if it
/// was there already.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    tighten(dir, DIR_MODE)
}

/// Options that create a private file.
pub fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates a new private file, failing if it exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    file_options().write(true).create_new(true).open(path)
}

/// Takes away what group and others may do with `path`, if anything.
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let current = fs::metadata(path)?.permissions().mode();
        if current & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Makes sure files this process creates anywhere (redb's databases, which
/// it creates itself) are private from their first moment.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it
    // cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}
