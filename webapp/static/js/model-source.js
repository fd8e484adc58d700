// Which model a page loads, and noticing when the server makes a new version current.
//
// The server may serve several model sets (CONTRACTS §1: "6 accessories", "Whole wardrobe");
// the person's choice is remembered in localStorage and only the chosen model is downloaded.
// An open page polls the set's metadata with If-None-Match (cheap 304s) every few minutes and
// when it regains focus; the page decides when it is safe to switch (never mid-drawing).

const SET_KEY = 'fashion-doodles.model-set';
/** Poll every three minutes unless the page says otherwise (data-model-poll-seconds or ?poll=). */
export const POLL_SECONDS = 180;

/** The set the person chose earlier, or null. */
export function rememberedSet() {
  try {
    return window.localStorage.getItem(SET_KEY);
  } catch {
    return null; // Storage may be off (private mode, policies): the default set then.
  }
}

/** Remember the chosen set for the next visit. */
export function rememberSet(name) {
  try {
    window.localStorage.setItem(SET_KEY, name);
  } catch {
    // Nothing to do: the choice lasts for this page only.
  }
}

/** The page's metadata URL (`/api/model?set=...` on a server with model sets) for another set. */
export function metadataUrlFor(config, set) {
  if (!set) return config.metadataUrl;
  const url = new URL(config.metadataUrl, window.location.href);
  url.searchParams.set('set', set);
  return url.pathname + url.search;
}

/**
 * The URL loadClassifier resolves `model_url` against: the version's folder (`files_url`)
 * when the metadata came from /api/model, else the metadata's own URL.
 */
export function modelBaseUrl(metadata, metadataUrl) {
  return metadata.files_url ? new URL('metadata.json', new URL(metadata.files_url, window.location.href)).href : metadataUrl;
}

/** The server's model sets `{sets, default}`, or null when it serves only one (or cannot say). */
export async function fetchModelSets(modelsUrl) {
  if (!modelsUrl) return null;
  try {
    const response = await fetch(modelsUrl, { headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const body = await response.json();
    return Array.isArray(body.sets) ? body : null;
  } catch {
    return null;
  }
}

/** Seconds between polls: ?poll= (tests), else data-model-poll-seconds, else POLL_SECONDS. */
export function pollSeconds(dataset) {
  const fromQuery = Number(new URLSearchParams(window.location.search).get('poll'));
  if (fromQuery > 0) return fromQuery;
  const fromPage = Number(dataset.modelPollSeconds);
  return fromPage > 0 ? fromPage : POLL_SECONDS;
}

/**
 * Poll `url` for the current model's metadata; call `onNewVersion(metadata)` when its version
 * differs from `version`. Returns `{poll, setVersion, stop}`.
 */
export function watchModel({ url, version, seconds, onNewVersion }) {
  let currentVersion = version;
  let etag = null;
  let inFlight = false;

  async function poll() {
    if (inFlight || !url) return;
    inFlight = true;
    try {
      const headers = { Accept: 'application/json' };
      if (etag) headers['If-None-Match'] = etag;
      const response = await fetch(url, { headers, cache: 'no-cache' });
      if (response.status === 304 || !response.ok) return;
      etag = response.headers.get('ETag');
      const metadata = await response.json();
      if (metadata.version && metadata.version !== currentVersion) onNewVersion(metadata);
    } catch (error) {
      console.warn('Could not check for a new model version', error);
    } finally {
      inFlight = false;
    }
  }

  const timer = window.setInterval(poll, seconds * 1000);
  const onFocus = () => poll();
  const onVisible = () => {
    if (document.visibilityState === 'visible') poll();
  };
  window.addEventListener('focus', onFocus);
  document.addEventListener('visibilitychange', onVisible);
  return {
    poll,
    setVersion(newVersion) {
      currentVersion = newVersion;
    },
    stop() {
      window.clearInterval(timer);
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
