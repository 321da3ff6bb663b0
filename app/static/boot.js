// Starts the wasm app (kept out of index.html so the Content-Security-Policy
// needs no inline script). xtask stamps __MEDK_VERSION__ like index.html's.
import init from '/medk_app.js?v=__MEDK_VERSION__';

init({ module_or_path: '/medk_app_bg.wasm' }).catch((e) => {
  document.getElementById('boot').textContent = 'Приложение не запустилось в этом браузере: ' + e;
});

// The Word/Excel module (office-wasm/), loaded the first time the app asks
// for it (app/src/office.rs) rather than with the app: most visits never
// import or export. A failed load is retried on the next ask.
let office;
globalThis.medkOffice = () =>
  (office ??= import('/medk_office.js?v=__MEDK_VERSION__')
    .then(async (module) => {
      await module.default({ module_or_path: '/medk_office_bg.wasm' });
      return module;
    })
    .catch((e) => {
      office = undefined;
      throw e;
    }));
