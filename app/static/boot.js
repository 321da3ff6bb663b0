// Starts the wasm app (kept out of index.html so the Content-Security-Policy
// needs no inline script). xtask stamps __MEDK_VERSION__ like index.html's.
import init from '/medk_app.js?v=__MEDK_VERSION__';

init({ module_or_path: '/medk_app_bg.wasm' }).catch((e) => {
  document.getElementById('boot').textContent = 'Приложение не запустилось в этом браузере: ' + e;
});
