// What a device keeps, read straight from its IndexedDB and localStorage
// (the stores app/src/storage.rs documents), and read back with the
// official JS Automerge: an independent reader of what the app stored.
import * as A from '@automerge/automerge';
import type { Page } from '@playwright/test';

export interface StoredPiece {
  key: number;
  kind: string;
  bytes: number[];
}

/** The chunks a device holds for a document, by key. */
export async function storedPieces(page: Page, doc: string): Promise<StoredPiece[]> {
  return page.evaluate(async (id) => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const store = db.transaction('chunks').objectStore('chunks');
      const index = store.index('by_doc');
      const keys: IDBValidKey[] = await new Promise((resolve) => {
        const req = index.getAllKeys(IDBKeyRange.only(id));
        req.onsuccess = () => resolve(req.result);
      });
      const values: any[] = await new Promise((resolve) => {
        const req = index.getAll(IDBKeyRange.only(id));
        req.onsuccess = () => resolve(req.result);
      });
      return values.map((v, i) => ({ key: keys[i] as number, kind: v.kind, bytes: Array.from(v.bytes as Uint8Array) }));
    } finally {
      db.close();
    }
  }, doc);
}

/** Quarantine records (of one document, or all). */
export async function quarantined(page: Page, doc?: string): Promise<{ doc: string; reason: string; chunks: number[][] }[]> {
  const all = await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const records: any[] = await new Promise((resolve) => {
        const req = db.transaction('quarantine').objectStore('quarantine').getAll();
        req.onsuccess = () => resolve(req.result);
      });
      return records.map((r) => ({
        doc: r.doc as string,
        reason: r.reason as string,
        chunks: (r.chunks as Uint8Array[]).map((c) => Array.from(c)),
      }));
    } finally {
      db.close();
    }
  });
  return doc ? all.filter((r) => r.doc === doc) : all;
}

/** The list record (`roadmaps` store) of a document. */
export async function listRecord(page: Page, doc: string): Promise<any> {
  return page.evaluate(async (id) => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('medk');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      return await new Promise((resolve) => {
        const req = db.transaction('roadmaps').objectStore('roadmaps').get(id);
        req.onsuccess = () => resolve(req.result ?? null);
      });
    } finally {
      db.close();
    }
  }, doc);
}

/** localStorage journal entries not yet confirmed by IndexedDB. */
export async function journalEntries(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('medk-journal:')));
}

/**
 * What the device's storage holds for a document, read with the JS
 * Automerge: every piece, in any order (as the app reads them). `heads` are
 * sorted; `waiting` says some change waits for one nobody stored.
 */
export async function storedDocument(page: Page, doc: string): Promise<{ heads: string[]; value: any; pieces: number }> {
  const pieces = await storedPieces(page, doc);
  let d = A.init<any>();
  for (const piece of pieces) d = A.loadIncremental(d, new Uint8Array(piece.bytes));
  return { heads: [...A.getHeads(d)].sort(), value: A.toJS(d), pieces: pieces.length };
}

/** The id in a `/r/<id>` path. */
export function docId(path: string): string {
  return path.split('/').filter(Boolean).pop()!;
}

/** Every list record (`roadmaps` store): roadmaps, school files, the catalogue. */
export async function listRecords(page: Page): Promise<any[]> {
  return page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((ok) => (indexedDB.open('medk').onsuccess = (e: any) => ok(e.target.result)));
    try {
      return await new Promise<any[]>((ok) => {
        const req = db.transaction('roadmaps').objectStore('roadmaps').getAll();
        req.onsuccess = () => ok(req.result);
      });
    } finally {
      db.close();
    }
  });
}

/**
 * A broken disk: the chunks under these keys get Automerge's magic bytes
 * followed by garbage, so they look like pieces and do not load. Call it
 * on a page that does not run the app (e.g. `/icon.svg`), or the app's own
 * transactions interleave.
 */
export async function spoilChunks(page: Page, keys: number[]): Promise<void> {
  await page.evaluate(async (keys) => {
    const db: IDBDatabase = await new Promise((ok) => (indexedDB.open('medk').onsuccess = (e: any) => ok(e.target.result)));
    const tx = db.transaction(['chunks'], 'readwrite');
    const chunks = tx.objectStore('chunks');
    for (const key of keys) {
      const value: any = await new Promise((ok) => (chunks.get(key).onsuccess = (e: any) => ok(e.target.result)));
      chunks.put({ ...value, bytes: new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 9, 9, 9, 9, 1, 5, 1]) }, key);
    }
    await new Promise((ok) => (tx.oncomplete = ok));
    db.close();
  }, keys);
}

/**
 * Keeps the device's IndexedDB busy until the page goes away: a read-write
 * transaction over every store that never ends, so whatever the app stores
 * after this waits behind it, as on a slow disk whose tab is closed before
 * its writes commit.
 */
export async function holdStorage(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((ok) => (indexedDB.open('medk').onsuccess = (e: any) => ok(e.target.result)));
    const names = Array.from(db.objectStoreNames);
    const store = db.transaction(names, 'readwrite').objectStore(names[0]);
    const spin = () => (store.count().onsuccess = spin);
    spin();
  });
}
