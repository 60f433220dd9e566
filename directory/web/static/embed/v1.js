/*
 * <directory-search>: the directory's search for partner sites, as one custom element.
 *
 *   <script src="https://HOST/embed/v1.js" defer></script>
 *   <directory-search key="pk_..." lang="es" need="crisis" near="33602"></directory-search>
 *
 * Attributes
 *   key    the site's publishable partner key (required; it works only on the key's origins)
 *   lang   "en" or "es"; else the nearest [lang] around the element, else <html lang>, else en
 *   need   a need code chosen at the start (crisis, counseling, housing...): the widget
 *          searches it at once; a person may pick another from the suggestions
 *   near   a 5-digit ZIP code (fills the ZIP field) or "latitude,longitude"
 *   limit  results shown, 1 to 50 (default 10)
 *
 * Custom properties (set them on the element or any ancestor: they cross the shadow root)
 *   --directory-font               font-family (default: inherit the page's)
 *   --directory-text               text colour (#1f2328)
 *   --directory-muted              secondary text (#57606a)
 *   --directory-background         background (#ffffff)
 *   --directory-surface            a result's background (#f6f8fa)
 *   --directory-border             borders (#8c959f)
 *   --directory-accent             buttons, links, focus (#0b5cad)
 *   --directory-accent-text        text on the accent (#ffffff)
 *   --directory-crisis             the crisis block's text and border (#8a1111)
 *   --directory-crisis-background  the crisis block's background (#fff4f4)
 *   --directory-radius             corner radius (6px)
 *
 * Events (bubbling, composed; detail in brackets)
 *   directory-results  a search answered {total, crisis: true when crisis lines are shown}
 *   directory-error    a search failed {kind: "rate" | "refused" | "key" | "offline" |
 *                      "invalid" | "failed", retryAfter: seconds or null}
 *
 * Requests go to this script's own origin only: GET /v1/search with the key in the query (a
 * simple request: no preflight), and GET /v1/crisis-lines (public) when a search fails, to
 * still show the crisis lines and to tell a refused site (CORS: fetch throws, but the public
 * crisis lines answer) from being offline (both throw). No inline styles: one constructed
 * stylesheet adopted by the shadow root, so a strict Content-Security-Policy allows it.
 */
(() => {
  "use strict";
  const TAG = "directory-search";
  if (!window.customElements || customElements.get(TAG)) return;

  const script = document.currentScript || document.querySelector('script[src*="/embed/v1"]');
  const ORIGIN = new URL(script ? script.src : location.href).origin;
  const FIRST_LINES = 3; // crisis lines shown before "more"
  const ZIP = /^\d{5}(-\d{4})?$/;
  const POINT = /^\s*-?\d{1,2}(\.\d+)?\s*,\s*-?\d{1,3}(\.\d+)?\s*$/;

  // [code, English, Spanish]: the needs taxonomy (seed_data/needs.yaml), as the pages name it.
  const NEEDS = [
    ["crisis", "Crisis", "Crisis"],
    ["suicide-prevention", "Suicide prevention", "Prevención del suicidio"],
    ["mobile-crisis", "Mobile crisis team", "Equipo móvil de crisis"],
    ["crisis-stabilization", "Crisis stabilization", "Estabilización de crisis"],
    ["mental-health", "Mental health", "Salud mental"],
    ["counseling", "Counseling and therapy", "Consejería y terapia"],
    ["psychiatry", "Psychiatry and medication", "Psiquiatría y medicamentos"],
    ["depression", "Depression", "Depresión"],
    ["anxiety", "Anxiety", "Ansiedad"],
    ["trauma", "Trauma and PTSD", "Trauma y TEPT"],
    ["eating-disorders", "Eating disorders", "Trastornos alimentarios"],
    ["serious-mental-illness", "Serious mental illness", "Enfermedad mental grave"],
    ["grief", "Grief and loss", "Duelo y pérdida"],
    ["substance-use", "Substance use", "Consumo de sustancias"],
    ["detox", "Detox / withdrawal management", "Desintoxicación / manejo de la abstinencia"],
    ["outpatient-treatment", "Outpatient treatment", "Tratamiento ambulatorio"],
    ["residential-treatment", "Residential treatment", "Tratamiento residencial"],
    ["medication-assisted-treatment", "Medication for addiction treatment",
      "Medicamentos para tratar la adicción"],
    ["harm-reduction", "Harm reduction", "Reducción de daños"],
    ["inpatient-treatment", "Hospital inpatient treatment", "Tratamiento hospitalario"],
    ["recovery-housing", "Recovery housing / sober living",
      "Vivienda para la recuperación / vivienda sobria"],
    ["recovery-support", "Recovery support", "Apoyo para la recuperación"],
    ["tobacco-cessation", "Quitting tobacco and vaping", "Dejar el tabaco y el vapeo"],
    ["gambling", "Gambling and other behavioral addictions",
      "Juego y otras adicciones conductuales"],
    ["peer-support", "Peer support", "Apoyo entre pares"],
    ["support-groups", "Support groups", "Grupos de apoyo"],
    ["youth", "Youth and young adults", "Adolescentes y jóvenes"],
    ["family", "Family support", "Apoyo familiar"],
    ["lgbtq", "LGBTQ+", "LGBTQ+"],
    ["pregnant-postpartum", "Pregnant and postpartum people", "Personas embarazadas y en posparto"],
    ["veterans", "Veterans and military", "Veteranos y militares"],
    ["domestic-violence", "Domestic violence", "Violencia doméstica"],
    ["housing", "Housing", "Vivienda"],
    ["food", "Food", "Alimentos"],
    ["legal", "Legal help", "Ayuda legal"],
    ["employment", "Employment", "Empleo"],
  ];

  const TEXT = {
    en: {
      label: "What are you looking for?",
      hint: "Type a word or a need; use the arrow keys to pick a suggestion.",
      zip: "ZIP code",
      search: "Search",
      suggestions: "Needs",
      searching: "Searching…",
      found: (n) => (n === 1 ? "1 service found" : `${n} services found`),
      crisisFirst: "Crisis lines are listed first.",
      none: "No services match. Try another word, another need or a wider area.",
      empty: "Type what you are looking for, or pick a need.",
      badZip: "Enter a 5-digit ZIP code.",
      crisisTitle: "If someone is in danger or thinking about suicide, help is available now",
      results: "Services",
      call: "Call",
      callLabel: (name, number) => `Call ${name} at ${number}`,
      textLabel: (name, number) => `Text ${name} at ${number}`,
      moreLines: (n) => (n === 1 ? "1 more crisis line" : `${n} more crisis lines`),
      fewerLines: "Fewer crisis lines",
      text: "Text",
      to: "to",
      chat: "Chat online",
      ext: "ext.",
      km: (km) => `${km} km away`,
      about: (km) => `About ${km} km away (to the centre of its ZIP code)`,
      zipArea: "In or near your ZIP code area",
      serves: "Serves your area",
      open: "Open now",
      closed: "Closed now",
      demo: "Demo",
      rate: (s) => `Too many searches from this site right now; try again in ${s} seconds.`,
      refused: "This search is not set up for this website (its key is for other sites).",
      key: "This search's key is not valid (revoked or unknown): tell the site's owner.",
      offline: "You seem to be offline: check the connection and try again.",
      failed: "Search is not available right now. Try again in a moment.",
      invalid: "Check the search: some of it is not valid.",
      keyMissing: "This search has no key: the site's owner must add one.",
      form: "Search for help",
    },
    es: {
      label: "¿Qué buscas?",
      hint: "Escribe una palabra o una necesidad; usa las flechas para elegir una sugerencia.",
      zip: "Código postal",
      search: "Buscar",
      suggestions: "Necesidades",
      searching: "Buscando…",
      found: (n) => (n === 1 ? "1 servicio encontrado" : `${n} servicios encontrados`),
      crisisFirst: "Las líneas de crisis aparecen primero.",
      none: "Ningún servicio coincide. Prueba otra palabra, otra necesidad o una zona más amplia.",
      empty: "Escribe lo que buscas o elige una necesidad.",
      badZip: "Escribe un código postal de 5 dígitos.",
      crisisTitle: "Si alguien está en peligro o piensa en el suicidio, hay ayuda disponible ahora",
      results: "Servicios",
      call: "Llamar",
      callLabel: (name, number) => `Llamar a ${name} al ${number}`,
      textLabel: (name, number) => `Enviar texto a ${name} al ${number}`,
      moreLines: (n) => (n === 1 ? "1 línea de crisis más" : `${n} líneas de crisis más`),
      fewerLines: "Menos líneas de crisis",
      text: "Enviar texto",
      to: "al",
      chat: "Chatear en línea",
      ext: "ext.",
      km: (km) => `A ${km} km`,
      about: (km) => `A unos ${km} km (al centro de su código postal)`,
      zipArea: "En tu zona de código postal o cerca",
      serves: "Atiende tu zona",
      open: "Abierto ahora",
      closed: "Cerrado ahora",
      demo: "Demo",
      rate: (s) =>
        `Demasiadas búsquedas desde este sitio en este momento; inténtalo de nuevo en ${s} segundos.`,
      refused: "Esta búsqueda no está configurada para este sitio web (su clave es para otros sitios).",
      key: "La clave de esta búsqueda no es válida (revocada o desconocida): avisa al dueño del sitio.",
      offline: "Parece que no hay conexión: revísala e inténtalo de nuevo.",
      failed: "La búsqueda no está disponible ahora. Inténtalo de nuevo en un momento.",
      invalid: "Revisa la búsqueda: una parte no es válida.",
      keyMissing: "Esta búsqueda no tiene clave: el dueño del sitio debe añadir una.",
      form: "Buscar ayuda",
    },
  };

  const CSS = `
:host { display: block; font-family: var(--directory-font, inherit); line-height: 1.45;
  color: var(--directory-text, #1f2328); background: var(--directory-background, #ffffff);
  --r: var(--directory-radius, 6px); --accent: var(--directory-accent, #0b5cad);
  --border: var(--directory-border, #8c959f); --muted: var(--directory-muted, #57606a); }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
.field { display: flex; flex-direction: column; gap: .25rem; position: relative; }
.field.q { flex: 1 1 14rem; }
.field.zip { flex: 0 1 8rem; }
label { font-weight: 600; }
.hint { font-size: .85em; color: var(--muted); margin: 0; flex-basis: 100%; order: 9; }
input { font: inherit; color: inherit; background: var(--directory-background, #ffffff);
  border: 1px solid var(--border); border-radius: var(--r); padding: .5rem .6rem;
  min-height: 44px; width: 100%; }
button, .call, .text, .chat { font: inherit; font-weight: 600; border-radius: var(--r);
  min-height: 44px; display: inline-flex; align-items: center; padding: .45rem .9rem;
  text-decoration: none; border: 1px solid var(--accent); }
button { background: var(--accent); color: var(--directory-accent-text, #ffffff); cursor: pointer; }
.call, .text, .chat { color: var(--accent); background: var(--directory-background, #ffffff); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
[role="listbox"] { position: absolute; top: 100%; left: 0; right: 0; z-index: 10;
  margin: .25rem 0 0; padding: .25rem 0; list-style: none; max-height: 16rem; overflow-y: auto;
  background: var(--directory-background, #ffffff); border: 1px solid var(--border);
  border-radius: var(--r); box-shadow: 0 4px 12px rgba(0, 0, 0, .15); }
[role="option"] { padding: .5rem .75rem; cursor: pointer; }
[role="option"][aria-selected="true"] { background: var(--accent);
  color: var(--directory-accent-text, #ffffff); }
.status { margin: .75rem 0; min-height: 1.45em; }
.status.problem { color: var(--directory-crisis, #8a1111); font-weight: 600; }
.crisis { border: 2px solid var(--directory-crisis, #8a1111); border-radius: var(--r);
  background: var(--directory-crisis-background, #fff4f4); padding: .75rem 1rem; margin: .75rem 0; }
.crisis h2 { color: var(--directory-crisis, #8a1111); font-size: 1.1em; margin: 0 0 .5rem; }
ul.lines, ul.results { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem; }
.results > li { background: var(--directory-surface, #f6f8fa); border: 1px solid var(--border);
  border-radius: var(--r); padding: .75rem 1rem; }
h3 { font-size: 1.05em; margin: 0; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap; }
h3 a { color: var(--accent); }
p { margin: .25rem 0; }
.muted { color: var(--muted); }
.badge { font-size: .8em; font-weight: 600; border: 1px solid currentColor; border-radius: 999px;
  padding: 0 .5em; margin-left: .4em; white-space: nowrap; }
.more { margin-top: .75rem; background: transparent; color: var(--directory-crisis, #8a1111);
  border-color: var(--directory-crisis, #8a1111); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
`;

  let sheet = null; // one stylesheet shared by every element on the page
  function styles() {
    if (!sheet && "adoptedStyleSheets" in Document.prototype) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    return sheet ? [sheet] : [];
  }

  let count = 0; // unique ids per element (ids are scoped to each shadow root anyway)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value != null) node.setAttribute(name, String(value));
    }
    node.append(...children.filter((c) => c != null && c !== false));
    return node;
  }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function safeUrl(value, schemes) {
    try {
      const url = new URL(value);
      return schemes.includes(url.protocol) ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function number(km, lang) {
    return new Intl.NumberFormat(lang, { maximumFractionDigits: km < 10 ? 1 : 0 }).format(km);
  }

  class DirectorySearch extends HTMLElement {
    static get observedAttributes() {
      return ["key", "lang", "need", "near", "limit"];
    }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" }); // open: axe and the page may look in
      this.root.adoptedStyleSheets = styles();
      this.uid = `ds${++count}`;
      this.options = [];
      this.active = -1;
      this.need = null;
      this.pending = null;
    }

    connectedCallback() {
      this.build();
      if (this.need) this.search();
    }

    attributeChangedCallback(name, before, after) {
      if (!this.form || before === after) return;
      this.build(); // a live preview changes attributes: start again in the new setting
      if (this.need) this.search();
    }

    get lang2() {
      const own = this.getAttribute("lang");
      const around = this.parentElement && this.parentElement.closest("[lang]");
      const lang = own || (around && around.getAttribute("lang")) || document.documentElement.lang;
      return (lang || "en").toLowerCase().startsWith("es") ? "es" : "en";
    }

    get t() {
      return TEXT[this.lang2];
    }

    build() {
      const t = this.t;
      const id = (name) => `${this.uid}-${name}`;
      const preset = NEEDS.find((n) => n[0] === (this.getAttribute("need") || "").trim());
      this.need = preset ? preset[0] : null;
      const near = (this.getAttribute("near") || "").trim();
      this.input = el("input", {
        id: id("q"), type: "text", role: "combobox", "aria-autocomplete": "list",
        "aria-expanded": "false", "aria-controls": id("options"), "aria-describedby": id("hint"),
        autocomplete: "off", autocapitalize: "off", spellcheck: "false", maxlength: 200,
        value: preset ? this.label(preset) : null,
      });
      this.listbox = el("ul", { id: id("options"), role: "listbox", "aria-label": t.suggestions,
        hidden: true });
      this.zip = el("input", { id: id("zip"), type: "text", inputmode: "numeric", maxlength: 10,
        autocomplete: "postal-code", value: ZIP.test(near) ? near : null });
      this.form = el("form", { role: "search", "aria-label": t.form, novalidate: true },
        el("div", { class: "field q" }, el("label", { for: id("q") }, t.label), this.input,
          this.listbox),
        el("div", { class: "field zip" }, el("label", { for: id("zip") }, t.zip), this.zip),
        el("button", { type: "submit" }, t.search),
        el("p", { id: id("hint"), class: "hint" }, t.hint));
      this.status = el("p", { class: "status", role: "status", "aria-live": "polite" });
      this.crisisList = el("ul", { id: id("lines"), class: "lines" });
      this.moreLines = el("button", { type: "button", class: "more", "aria-controls": id("lines"),
        "aria-expanded": "false" });
      this.crisis = el("section", { class: "crisis", "aria-labelledby": id("crisis"),
        hidden: true }, el("h2", { id: id("crisis") }, t.crisisTitle), this.crisisList, this.moreLines);
      this.results = el("ul", { class: "results", "aria-labelledby": id("results") });
      this.found = el("section", { class: "found", hidden: true },
        el("h2", { id: id("results"), class: "sr" }, t.results), this.results);
      const box = el("div", { lang: this.lang2 }, this.form, this.status, this.crisis,
        this.found);
      this.root.replaceChildren(box);
      this.listen();
    }

    label(need) {
      return this.lang2 === "es" ? need[2] : need[1];
    }

    listen() {
      this.input.addEventListener("input", () => {
        const picked = NEEDS.find((n) => n[0] === this.need);
        if (!picked || this.input.value !== this.label(picked)) this.need = null;
        this.suggest();
      });
      this.input.addEventListener("keydown", (event) => this.key(event));
      this.input.addEventListener("blur", () => this.close());
      this.listbox.addEventListener("pointerdown", (event) => event.preventDefault());
      this.listbox.addEventListener("click", (event) => {
        const option = event.target.closest('[role="option"]');
        if (option) this.pick(Number(option.dataset.index));
      });
      this.moreLines.addEventListener("click", () => this.toggleLines());
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.close();
        this.search();
      });
    }

    suggest() {
      const typed = fold(this.input.value);
      const fits = (need) => fold(this.label(need)).includes(typed) || need[0].includes(typed);
      this.options = typed ? NEEDS.filter(fits).slice(0, 8) : [];
      this.active = -1;
      this.listbox.replaceChildren(...this.options.map((need, index) =>
        el("li", { id: `${this.uid}-option-${index}`, role: "option", "aria-selected": "false",
          "data-index": index }, this.label(need))));
      this.show(this.options.length > 0);
    }

    show(open) {
      this.listbox.hidden = !open;
      this.input.setAttribute("aria-expanded", String(open));
      if (!open) this.input.removeAttribute("aria-activedescendant");
    }

    close() {
      this.active = -1;
      this.show(false);
    }

    move(step) {
      if (this.listbox.hidden) this.suggest();
      if (!this.options.length) return;
      const last = this.options.length - 1;
      const next = (this.active + step + last + 1) % (last + 1); // wraps around
      this.active = this.active < 0 && step < 0 ? last : next;
      this.listbox.querySelectorAll('[role="option"]').forEach((option, index) => {
        option.setAttribute("aria-selected", String(index === this.active));
        if (index === this.active) {
          this.input.setAttribute("aria-activedescendant", option.id);
          option.scrollIntoView({ block: "nearest" });
        }
      });
    }

    key(event) {
      const open = !this.listbox.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.move(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && open && this.active >= 0) {
        event.preventDefault();
        this.pick(this.active);
      } else if (event.key === "Escape") {
        if (open) this.close();
        else this.input.value = "";
        this.need = open ? this.need : null;
      }
    }

    pick(index) {
      const need = this.options[index];
      if (!need) return;
      this.need = need[0];
      this.input.value = this.label(need);
      this.close();
      this.search();
    }

    query() {
      const params = new URLSearchParams({ key: (this.getAttribute("key") || "").trim() });
      const text = this.input.value.trim();
      if (this.need) params.set("need", this.need);
      else if (text) params.set("q", text);
      const zip = this.zip.value.trim();
      const near = (this.getAttribute("near") || "").trim();
      if (zip) params.set("postcode", zip);
      else if (POINT.test(near)) params.set("near", near.replace(/\s/g, ""));
      const limit = Math.min(Math.max(parseInt(this.getAttribute("limit"), 10) || 10, 1), 50);
      params.set("per_page", String(limit));
      return params;
    }

    async search() {
      const t = this.t;
      const params = this.query();
      if (!params.get("key")) return this.fail("keyMissing", "key");
      if (!params.has("need") && !params.has("q")) return this.say(t.empty, false);
      if (params.has("postcode") && !ZIP.test(params.get("postcode"))) {
        return this.fail("badZip", "invalid");
      }
      if (this.pending) this.pending.abort();
      const pending = (this.pending = new AbortController());
      this.say(t.searching, false);
      this.setAttribute("aria-busy", "true");
      let answer;
      try {
        answer = await fetch(`${ORIGIN}/v1/search?${params}`, {
          credentials: "omit", signal: pending.signal, referrerPolicy: "origin" });
      } catch (error) {
        if (pending.signal.aborted) return;
        return this.unreachable(params, pending);
      } finally {
        if (this.pending === pending) this.removeAttribute("aria-busy");
      }
      const found = answer.ok ? await answer.json().catch(() => null) : null;
      if (pending.signal.aborted) return;
      if (found) return this.showFound(found);
      const status = answer.status;
      const wait = parseInt(answer.headers.get("Retry-After"), 10) || 60;
      if (status === 422) return this.fail("invalid", "invalid");
      const kind = status === 429 ? "rate" : status === 401 || status === 403 ? "key" : "failed";
      this.fail(kind, kind, kind === "rate" ? wait : null);
      this.crisisLines(params, pending); // the way to help now, whatever failed
    }

    // fetch threw: the key refuses this site (no CORS answer) or the network is down. The
    // public crisis lines answer every origin: if our server answers them, the site was refused.
    async unreachable(params, pending) {
      const kind = (await this.crisisLines(params, pending)) ? "refused" : "offline";
      if (this.pending === pending) this.fail(kind, kind);
    }

    // Shows the crisis lines for the search's place (unless a newer search began); whether our
    // server answered. Asked of the server first (revalidated: a cached answer would hide
    // being offline), else of the cache.
    async crisisLines(params, pending) {
      const ask = new URLSearchParams({ language: this.lang2 });
      for (const name of ["postcode", "near"]) {
        if (params.has(name)) ask.set(name, params.get(name));
      }
      const url = `${ORIGIN}/v1/crisis-lines?${ask}`;
      let answer = null;
      let reached = true;
      try {
        answer = await fetch(url, { credentials: "omit", cache: "no-cache" });
      } catch (error) {
        reached = false;
        answer = await fetch(url, { credentials: "omit", cache: "force-cache" }).catch(() => null);
      }
      const block = answer && answer.ok ? await answer.json().catch(() => null) : null;
      if (this.pending === pending) this.showCrisis(block);
      return reached;
    }

    fail(message, kind, retryAfter = null) {
      const t = this.t;
      const text = typeof t[message] === "function" ? t[message](retryAfter) : t[message];
      this.found.hidden = true;
      this.results.replaceChildren();
      this.say(text, true);
      this.emit("directory-error", { kind, retryAfter });
    }

    say(text, problem) {
      this.status.textContent = text;
      this.status.classList.toggle("problem", problem);
    }

    emit(name, detail) {
      this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
    }

    showFound(found) {
      const t = this.t;
      const lines = found.crisis ? found.crisis.lines : [];
      this.showCrisis(found.crisis);
      this.results.replaceChildren(...found.items.map((item) => this.result(item)));
      this.found.hidden = found.items.length === 0;
      const counted = found.total ? `${t.found(found.total)}.` : t.none;
      this.say(lines.length ? `${counted} ${t.crisisFirst}` : counted, false);
      this.emit("directory-results", { total: found.total, crisis: lines.length > 0 });
    }

    // The first lines (the best for the place, 24/7 first), the others a tap away: ten lines
    // at once push every result off a phone's screen.
    showCrisis(block) {
      const t = this.t;
      const lines = (block ? block.lines : []).map((line) => this.line(line));
      const more = lines.length - FIRST_LINES;
      lines.slice(FIRST_LINES).forEach((line) => (line.hidden = true));
      this.crisisList.replaceChildren(...lines);
      this.moreLines.hidden = more <= 0;
      this.moreLines.textContent = t.moreLines(more);
      this.moreLines.setAttribute("aria-expanded", "false");
      this.crisis.hidden = lines.length === 0;
    }

    toggleLines() {
      const open = this.moreLines.getAttribute("aria-expanded") !== "true";
      [...this.crisisList.children].slice(FIRST_LINES).forEach((line) => (line.hidden = !open));
      this.moreLines.setAttribute("aria-expanded", String(open));
      this.moreLines.textContent = open ? this.t.fewerLines : this.t.moreLines(
        this.crisisList.children.length - FIRST_LINES);
    }

    line(line) {
      const t = this.t;
      const links = [];
      for (const c of line.channels || []) {
        const tel = c.tel_uri && safeUrl(c.tel_uri, ["tel:"]);
        const shown = c.display || c.number || "";
        if (c.channel === "call" && tel) {
          links.push(el("a", { class: "call", href: tel }, `${t.call} ${shown}`));
        }
        if (c.channel === "text" && tel) {
          const body = c.keyword ? `?&body=${encodeURIComponent(c.keyword)}` : "";
          const words = c.keyword ? `${t.text} ${c.keyword} ${t.to} ${shown}` : `${t.text} ${shown}`;
          links.push(el("a", { class: "text", href: `sms:${tel.slice(4)}${body}` }, words));
        }
        const chat = c.channel === "chat" && c.url && safeUrl(c.url, ["https:", "http:"]);
        if (chat) links.push(el("a", { class: "chat", href: chat, rel: "noopener" }, t.chat));
      }
      if (!links.length) links.push(...this.phones(line.phones || [], line.name));
      return el("li", null,
        el("strong", null, line.name),
        line.hours ? el("span", { class: "muted" }, ` · ${line.hours}`) : null,
        el("div", { class: "actions" }, ...links));
    }

    phones(phones, name) {
      const t = this.t;
      return phones.filter((p) => p.type !== "fax" && safeUrl(p.tel_uri, ["tel:"])).slice(0, 2)
        .flatMap((p) => {
          const tel = safeUrl(p.tel_uri, ["tel:"]);
          const shown = p.extension ? `${p.display} ${t.ext} ${p.extension}` : p.display;
          const call = el("a", { class: "call", href: tel, "aria-label": t.callLabel(name, shown) },
            `${t.call} ${shown}`);
          if (p.type !== "cell" && p.type !== "text") return [call];
          return [call, el("a", { class: "text", href: `sms:${tel.slice(4).split(";")[0]}`,
            "aria-label": t.textLabel(name, p.display) }, t.text)];
        });
    }

    result(item) {
      const t = this.t;
      const page = `${ORIGIN}/l/${encodeURIComponent(item.service_id)}`;
      const where = [this.distance(item)];
      if (item.open_now === true) where.push(t.open);
      if (item.open_now === false) where.push(t.closed);
      const address = this.address(item.address);
      return el("li", null,
        el("h3", null, el("a", { href: page }, item.name),
          item.demo ? el("span", { class: "badge" }, t.demo) : null),
        el("p", { class: "muted" }, item.organization),
        where.filter(Boolean).length ? el("p", null, where.filter(Boolean).join(" · ")) : null,
        address ? el("p", null, address) : null,
        el("div", { class: "actions" }, ...this.phones(item.phones || [], item.name)));
    }

    distance(item) {
      const t = this.t;
      const km = item.distance_km;
      if (km == null) return item.match === "serves_area" ? t.serves : null;
      if (item.distance_approximate) return km < 1 ? t.zipArea : t.about(number(km, this.lang2));
      return t.km(number(km, this.lang2));
    }

    address(a) {
      if (!a) return "";
      const street = [a.address_1, a.address_2].filter(Boolean).join(", ");
      const region = [a.state_province, a.postal_code].filter(Boolean).join(" ");
      return [street, a.city, region].filter(Boolean).join(", ");
    }
  }

  customElements.define(TAG, DirectorySearch);
})();
