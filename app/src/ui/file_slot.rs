//! A well-known file (a school's, the catalogue) as a screen holds it: open
//! once it has loaded, shown in a signal, edited one user action at a time
//! with the error on screen. One place for what the school and catalogue
//! screens both do with their files.

use super::kit::AppCtx;
use crate::files::OpenFile;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The screen's handle on one open file. Copy: a handle.
#[derive(Clone, Copy)]
pub struct FileSlot(StoredValue<Option<Rc<RefCell<OpenFile>>>, LocalStorage>);

impl FileSlot {
    pub fn new() -> Self {
        FileSlot(StoredValue::new_local(None))
    }

    pub fn set(&self, file: Rc<RefCell<OpenFile>>) {
        self.0.set_value(Some(file));
    }

    /// Puts what `read` gives of the file into `shown`, only when it
    /// differs (so what depends on it is not redrawn for nothing). Nothing
    /// while the file is not open or is being written.
    pub fn show<T: PartialEq + Send + Sync + 'static>(
        &self,
        shown: RwSignal<T>,
        read: impl FnOnce(&OpenFile) -> T,
    ) {
        if let Some(file) = self.0.get_value()
            && let Ok(file) = file.try_borrow()
        {
            let value = read(&file);
            if shown.with_untracked(|s| *s != value) {
                shown.set(value);
            }
        }
    }

    /// One user action on the file by `edit`, given the name that signs
    /// it (the signed-in person's); then `reread` shows the file again, and
    /// an error is put on screen. `name` is the file in messages («файл
    /// школы», «каталог»). Whether it was saved.
    pub fn edit(
        &self,
        app: AppCtx,
        name: &str,
        edit: impl FnOnce(&mut OpenFile, &str) -> Result<(), String>,
        reread: impl FnOnce(),
    ) -> bool {
        let Some(file) = self.0.get_value() else {
            app.error(format!("{} ещё не открыт", capitalized(name)));
            return false;
        };
        let result = match file.try_borrow_mut() {
            Ok(mut file) => edit(&mut file, &app.account.author()),
            Err(_) => Err(format!("{name} занят, попробуйте ещё раз")),
        };
        reread();
        match result {
            Ok(()) => true,
            Err(e) => {
                app.error(format!("Не сохранено: {e}"));
                false
            }
        }
    }
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
