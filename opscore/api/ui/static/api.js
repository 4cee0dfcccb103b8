// Reads from the JSON API with the API key this tab keeps in sessionStorage.

const KEY_NAME = "opscore.apiKey";

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_NAME),
  set: (key) => sessionStorage.setItem(KEY_NAME, key),
  clear: () => sessionStorage.removeItem(KEY_NAME),
};

/** The service refused the key (401): the page asks for another one. */
export class Unauthorized extends Error {}

/** Any other answer that is not a success, with the service's own message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** fetch() a path of the API with the key; a 401 throws Unauthorized. */
export async function request(path, { accept = "application/json", headers = {}, signal } = {}) {
  const response = await fetch(path, {
    headers: { "X-API-Key": apiKey.get() || "", Accept: accept, ...headers },
    cache: "no-store",
    signal,
  });
  if (response.status === 401) {
    throw new Unauthorized("the API key was not accepted");
  }
  return response;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    message = (await response.json()).message || message;
  } catch {
    // not a JSON error body: keep the status line
  }
  return new ApiError(response.status, message);
}

/** The JSON body of a GET, and its X-Pagination object (or null). */
export async function getJson(path, options = {}) {
  const response = await request(path, options);
  if (response.status === 304) {
    return { notModified: true, etag: response.headers.get("ETag") };
  }
  if (!response.ok) {
    throw await failure(response);
  }
  const pagination = response.headers.get("X-Pagination");
  return {
    body: await response.json(),
    etag: response.headers.get("ETag"),
    pagination: pagination ? JSON.parse(pagination) : null,
  };
}

/** The text body of a GET (diagrams). */
export async function getText(path, options = {}) {
  const response = await request(path, { ...options, accept: "text/plain" });
  if (!response.ok) {
    throw await failure(response);
  }
  return response.text();
}
