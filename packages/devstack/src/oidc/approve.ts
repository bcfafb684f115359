/**
 * Approves a device login at the local provider as `subject`, the way a browser would: opens the
 * verification URI and submits each page's form (user code, confirmation, the development login
 * form, consent) with the provider's own cookies and anti-forgery fields. Nothing is minted here;
 * the provider decides, and an unknown subject gets no token.
 */
export async function approveDeviceLogin(verificationUriComplete: string, subject: string): Promise<void> {
  const browser = new FormBrowser();
  let page = await browser.open(new URL(verificationUriComplete));
  for (let step = 0; step < 8; step++) {
    if (/<title>Sign-in Success<\/title>/.test(page.html)) return;
    const form = parseForm(page.html, page.url);
    if (!form) throw new Error(`approving the device login stopped at "${titleOf(page.html)}"`);
    if (form.fields.has('login')) form.fields.set('login', subject).set('password', 'devstack');
    page = await browser.open(form.action, form.fields);
  }
  throw new Error('approving the device login did not finish');
}

interface Page {
  url: URL;
  html: string;
}

/** fetch with a cookie jar, following redirects itself so each response's cookies are kept. */
class FormBrowser {
  private readonly cookies = new Map<string, string>();

  async open(url: URL, form?: Map<string, string>): Promise<Page> {
    let res = await this.fetch(url, form);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      const location = res.headers.get('location');
      if (!location || hops > 10) throw new Error(`the provider redirected badly (${res.status})`);
      url = new URL(location, url);
      res = await this.fetch(url);
    }
    const html = await res.text();
    if (!res.ok) throw new Error(`the provider answered ${res.status} at ${url.pathname}: "${titleOf(html)}"`);
    return { url, html };
  }

  private async fetch(url: URL, form?: Map<string, string>): Promise<Response> {
    const headers: Record<string, string> = {
      cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    };
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      body: form ? new URLSearchParams([...form]) : undefined,
      redirect: 'manual',
    });
    for (const cookie of res.headers.getSetCookie()) {
      const pair = cookie.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }
}

/** The page's first form: its action and its inputs (submit buttons, such as "abort", left out). */
function parseForm(html: string, base: URL): { action: URL; fields: Map<string, string> } | undefined {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const action = attr(form[1] ?? '', 'action');
  const fields = new Map<string, string>();
  for (const input of (form[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = input[1] ?? '';
    const name = attr(attrs, 'name');
    if (name && attr(attrs, 'type') !== 'submit') fields.set(name, attr(attrs, 'value') ?? '');
  }
  return { action: new URL(action ?? base.href, base), fields };
}

const attr = (attrs: string, name: string): string | undefined =>
  new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(attrs)?.[1]?.replaceAll('&amp;', '&');

const titleOf = (html: string): string => /<title>([^<]*)<\/title>/i.exec(html)?.[1] ?? 'no title';
