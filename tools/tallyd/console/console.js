// tally's console: a thin client of tallyd's public API (everything it does
// a partner tool could do too). Pages are drawn from the API's answers with
// DOM nodes and text only: nothing received is ever parsed as HTML. The
// bearer token lives in sessionStorage (this tab, until it closes or signs
// out), is sent in the Authorization header only, and is never put in a
// URL, the page or a log. The admin password of a new customer is held in
// memory until "Done" and never stored.
'use strict';

(() => {
  const TOKEN_KEY = 'tally.token';
  const ROLE_KEY = 'tally.role';
  const PAGE_SIZE = 20;
  const main = document.getElementById('main');

  // ---- small helpers -------------------------------------------------------

  // h('div', {class: 'x', onclick: f}, 'text', child, ...): strings become
  // text nodes; attributes are set with setAttribute; no markup is ever parsed.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  let nextId = 0;
  const uid = (p) => `${p}-${++nextId}`;

  // A labelled field: returns {wrap, input}.
  function field(label, attrs = {}, hint) {
    const id = uid('f');
    const input = attrs.tag === 'select' ? h('select', {id, ...attrs, tag: null}) : h('input', {id, type: 'text', ...attrs});
    const hintId = hint ? uid('hint') : null;
    if (hintId) input.setAttribute('aria-describedby', hintId);
    const wrap = h('div', {class: 'field'}, h('label', {for: id}, label), input,
                   hint ? h('div', {id: hintId, class: 'hint'}, hint) : null);
    return {wrap, input};
  }

  function alertBox() { return h('div', {role: 'alert'}); }
  function say(box, message) { box.textContent = message || ''; }

  function uuid() {  // v4, from crypto.getRandomValues (also outside secure contexts)
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  const day = (t) => (t ? String(t).slice(0, 10) : '');
  const when = (t) => (t ? String(t).slice(0, 19).replace('T', ' ') + ' UTC' : '');
  const TERMS = {P1M: '1 month', P1Y: '1 year', P3Y: '3 years'};
  const term = (t) => TERMS[t] || t || '';
  const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : '');

  // ---- the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const text = body && body.description ? body.description : `HTTP ${status}`;
      super(body && body.code ? `${text} (error ${body.code})` : text);
      this.status = status;
      this.body = body;
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';
  const role = () => sessionStorage.getItem(ROLE_KEY) || '';

  async function api(method, path, {body, headers, bearer} = {}) {
    const h2 = {Accept: 'application/json', ...(headers || {})};
    const t = bearer !== undefined ? bearer : token();
    if (t) h2.Authorization = `Bearer ${t}`;
    if (body !== undefined) h2['Content-Type'] = 'application/json';
    let r;
    try {
      r = await fetch(path, {method, headers: h2, body: body === undefined ? undefined : JSON.stringify(body),
                             cache: 'no-store', credentials: 'omit', redirect: 'error'});
    } catch (e) {
      throw new ApiError(0, {description: 'tallyd did not answer (is it running?)'});
    }
    const text = await r.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (r.status === 401 && bearer === undefined) {
      signOut('Your token was refused; sign in again.');
      throw new ApiError(401, data);
    }
    if (!r.ok) throw new ApiError(r.status, data);
    return {status: r.status, data, headers: r.headers};
  }
  const enc = encodeURIComponent;

  // ---- shell: sign-in, navigation, routing ---------------------------------

  let signInMessage = '';
  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROLE_KEY);
    wizard = null;
    signInMessage = message || '';
    if (location.hash !== '#/sign-in') location.hash = '#/sign-in';
    else route();
  }
  document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));

  function drawNav(current) {
    const nav = document.getElementById('nav');
    nav.replaceChildren();
    const links = role() === 'partner' ? [['Customers', '#/customers']]
      : role() === 'operator' ? [['Operations', '#/operations'], ['Events', '#/events']] : [];
    for (const [name, href] of links) {
      nav.append(h('a', {href, 'aria-current': current === href ? 'page' : null}, name));
    }
    document.getElementById('who').textContent = role() ? `Signed in as ${role()}` : '';
    document.getElementById('sign-out').hidden = !role();
  }

  function page(title, ...children) {
    document.title = `${title} · tally console`;
    main.replaceChildren(...children);
    main.focus({preventScroll: true});
  }

  let timers = [];
  function every(ms, fn) { timers.push(setInterval(fn, ms)); }

  // Of overlapping requests that draw the same thing (a page's first load and
  // a search sent before it answered; a domain typed over), only the newest
  // may draw: an older answer arriving later is dropped. Each request starts
  // with `const current = turn();` and draws only while `current()` holds.
  function newestOnly() {
    let seq = 0;
    return () => { const mine = ++seq; return () => mine === seq; };
  }

  async function route() {
    timers.forEach(clearInterval);
    timers = [];
    const hash = location.hash || '#/';
    const parts = hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
    if (!token()) {
      drawNav('');
      return signInPage();
    }
    if (role() === 'operator') {
      drawNav(parts[0] === 'events' ? '#/events' : '#/operations');
      if (parts[0] === 'events') return eventsPage();
      return operationsPage();
    }
    drawNav('#/customers');
    if (parts[0] === 'customers' && parts[1] === 'new') return wizardPage(parts[2] || 'account');
    if (wizard && wizard.result) wizard = null;  // left the confirmation: the password is gone
    if (parts[0] === 'customers' && parts[1]) return customerPage(parts[1]);
    return customersPage();
  }
  window.addEventListener('hashchange', route);

  function signInPage() {
    const f = field('Token', {type: 'password', autocomplete: 'off', spellcheck: 'false'},
                    'A partner token (TALLY_TOKEN, or tallyctl partners add) or an operator token (tallyctl operators add).');
    const box = alertBox();
    const button = h('button', {type: 'submit'}, 'Sign in');
    const form = h('form', {novalidate: true}, f.wrap, h('div', {class: 'actions'}, button), box);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const t = f.input.value.trim();
      if (!t) return say(box, 'Enter your token.');
      button.disabled = true;
      say(box, '');
      try {
        let kind = '';
        try {
          await api('GET', '/v1/offers', {bearer: t});
          kind = 'partner';
        } catch (err) {
          if (err.status !== 401) throw err;
          await api('GET', '/admin/v1/rebuild', {bearer: t});
          kind = 'operator';
        }
        sessionStorage.setItem(TOKEN_KEY, t);
        sessionStorage.setItem(ROLE_KEY, kind);
        signInMessage = '';
        location.hash = kind === 'partner' ? '#/customers' : '#/operations';
        route();
      } catch (err) {
        say(box, err.status === 401 || err.status === 404 ? 'This token is not a partner\'s or an operator\'s token.' : err.message);
        button.disabled = false;
      }
    });
    page('Sign in', h('h1', {}, 'Sign in'), signInMessage ? h('p', {role: 'status'}, signInMessage) : null, form);
    f.input.focus();
  }

  // ---- customers -----------------------------------------------------------

  let listState = {query: '', tokens: [''], index: 0};

  async function customersPage() {
    const search = field('Search by company name', {type: 'search', value: listState.query});
    const box = alertBox();
    const body = h('tbody');
    const table = h('table', {'aria-label': 'Customers'},
                    h('thead', {}, h('tr', {}, h('th', {}, 'Company'), h('th', {}, 'Domain'), h('th', {}, 'Status'))), body);
    const prev = h('button', {type: 'button', class: 'secondary'}, 'Previous page');
    const next = h('button', {type: 'button', class: 'secondary'}, 'Next page');
    const count = h('span', {class: 'hint', role: 'status'});
    const form = h('form', {class: 'tools', role: 'search'}, search.wrap,
                   h('div', {class: 'field'}, h('button', {type: 'submit'}, 'Search')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      listState = {query: search.input.value.trim(), tokens: [''], index: 0};
      load();
    });
    prev.addEventListener('click', () => { listState.index -= 1; load(); });
    next.addEventListener('click', () => { listState.index += 1; load(); });
    page('Customers',
         h('div', {class: 'actions'}, h('h1', {}, 'Customers'),
           h('button', {type: 'button', onclick: () => { wizard = null; location.hash = '#/customers/new/account'; }}, 'Add customer')),
         form, box, table, h('div', {class: 'actions'}, prev, next, count));
    const loadTurn = newestOnly();
    async function load() {
      const current = loadTurn();
      say(box, '');
      prev.disabled = next.disabled = true;
      const q = new URLSearchParams({size: String(PAGE_SIZE)});
      if (listState.query) q.set('companyName', listState.query);
      const t = listState.tokens[listState.index];
      if (t) q.set('continuation', t);
      try {
        const {data} = await api('GET', `/v1/customers?${q}`);
        if (!current()) return;
        body.replaceChildren(...data.items.map((c) => h('tr', {},
          h('td', {}, h('a', {href: `#/customers/${enc(c.id)}`}, c.companyProfile.companyName || c.companyProfile.domain)),
          h('td', {}, c.companyProfile.domain), h('td', {}, c.status))));
        if (!data.items.length) body.append(h('tr', {}, h('td', {colspan: 3}, listState.query ? 'No customer\'s name starts with that.' : 'No customers yet.')));
        listState.tokens.length = listState.index + 1;
        if (data.continuationToken) listState.tokens.push(data.continuationToken);
        next.disabled = !data.continuationToken;
        prev.disabled = listState.index === 0;
        count.textContent = `Page ${listState.index + 1}`;
      } catch (err) {
        if (!current()) return;
        say(box, err.message);
      }
    }
    load();
  }

  // ---- add customer: Account info -> Subscriptions -> Review -> confirmation

  // The wizard's state, in memory only (a reload starts again).
  let wizard = null;
  function newWizard() {
    return {
      account: {companyName: '', domain: '', firstName: '', lastName: '', email: '', phone: '', addressLine1: '', city: '',
                state: '', postalCode: '', country: 'US', culture: 'en-US', language: 'en'},
      lines: {},          // offerId -> {quantity, termDuration, billingCycle}
      agreed: false,
      requestId: null,    // made when the review opens
      submitting: false,
      result: null,       // {id, userName, password}: until Done
    };
  }
  const STEPS = [['account', 'Account info'], ['subscriptions', 'Subscriptions'], ['review', 'Review']];
  function stepList(current) {
    return h('ol', {class: 'steps', 'aria-label': 'Steps'},
             STEPS.map(([key, name]) => h('li', {'aria-current': key === current ? 'step' : null}, name)));
  }
  function fullDomain(d) {
    const v = d.trim().toLowerCase();
    return v && !v.includes('.') ? `${v}.onmicrosoft.com` : v;
  }
  let catalog = null;  // GET /v1/offers, once per sign-in
  async function offers() {
    if (!catalog) catalog = (await api('GET', '/v1/offers')).data.items;
    return catalog;
  }
  let agreementTemplate;  // undefined: not asked; null: none (usgov)
  async function mcaTemplate() {
    if (agreementTemplate !== undefined) return agreementTemplate;
    try {
      const {data} = await api('GET', '/v1/agreements?agreementType=MicrosoftCustomerAgreement');
      agreementTemplate = data.items.length ? data.items[0].templateId : null;
    } catch (err) {
      if (err.status !== 403) throw err;
      agreementTemplate = null;  // agreements are not part of this instance
    }
    return agreementTemplate;
  }

  async function wizardPage(step) {
    if (!wizard) wizard = newWizard();
    if (step === 'done') return confirmationPage();
    if (wizard.result) { location.hash = '#/customers/new/done'; return; }
    if (step === 'subscriptions') return subscriptionsStep();
    if (step === 'review') return reviewStep();
    return accountStep();
  }

  const ACCOUNT_FIELDS = [
    ['companyName', 'Company name', {required: true, maxlength: 200, autocomplete: 'organization'}],
    ['domain', 'Domain', {required: true, spellcheck: 'false', autocomplete: 'off'}],
    ['firstName', 'First name', {required: true, autocomplete: 'given-name'}],
    ['lastName', 'Last name', {required: true, autocomplete: 'family-name'}],
    ['email', 'Email', {type: 'email', required: true, autocomplete: 'email'}],
    ['phone', 'Phone', {type: 'tel', autocomplete: 'tel'}],
    ['addressLine1', 'Address line 1', {required: true, autocomplete: 'address-line1'}],
    ['city', 'City', {required: true, autocomplete: 'address-level2'}],
    ['state', 'State', {autocomplete: 'address-level1'}],
    ['postalCode', 'Postal code', {autocomplete: 'postal-code'}],
    ['country', 'Country', {required: true, maxlength: 2, autocomplete: 'country'}],
    ['culture', 'Culture', {required: true}],
    ['language', 'Language', {required: true, maxlength: 2}],
  ];
  const HINTS = {
    domain: 'The customer\'s <prefix>.onmicrosoft.com: letters and digits, up to 27.',
    country: 'Two letters, e.g. US.', culture: 'e.g. en-US.', language: 'Two letters, e.g. en.',
  };

  function accountStep() {
    const a = wizard.account;
    const inputs = {};
    const fields = ACCOUNT_FIELDS.map(([key, label, attrs]) => {
      const f = field(label, {...attrs, value: a[key]}, HINTS[key]);
      inputs[key] = f.input;
      return f;
    });
    const domainStatus = h('div', {class: 'hint', role: 'status', 'aria-live': 'polite'});
    fields[1].wrap.append(domainStatus);
    let domainFree = null;  // true, false, or null (unknown)
    const checkTurn = newestOnly();
    let timer = null;
    async function checkDomain() {
      const d = fullDomain(inputs.domain.value);
      const current = checkTurn();
      domainFree = null;
      domainStatus.className = 'hint';
      if (!d) return say(domainStatus, '');
      const prefix = d.endsWith('.onmicrosoft.com') ? d.slice(0, -'.onmicrosoft.com'.length) : null;
      if (prefix === null || !/^[a-z0-9]{1,27}$/.test(prefix)) {
        domainFree = false;
        domainStatus.className = 'bad';
        return say(domainStatus, 'Use letters and digits only (1-27), before .onmicrosoft.com.');
      }
      say(domainStatus, `Checking ${d}…`);
      try {
        await api('HEAD', `/v1/domains/${enc(d)}`);
        if (!current()) return;
        domainFree = false;
        domainStatus.className = 'bad';
        say(domainStatus, `${d} is taken.`);
      } catch (err) {
        if (!current()) return;
        if (err.status === 404) {
          domainFree = true;
          domainStatus.className = 'ok';
          say(domainStatus, `${d} is available.`);
        } else {
          say(domainStatus, `Could not check ${d}: ${err.message}`);
        }
      }
    }
    inputs.domain.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(checkDomain, 250);
    });
    const box = alertBox();
    const next = h('button', {type: 'submit'}, 'Next: Subscriptions');
    const form = h('form', {novalidate: true, 'aria-labelledby': 'step-title'},
                   h('div', {class: 'grid'}, fields.map((f) => f.wrap)), box,
                   h('div', {class: 'actions'}, next,
                     h('a', {href: '#/customers', onclick: () => { wizard = null; }}, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      for (const [key] of ACCOUNT_FIELDS) a[key] = inputs[key].value.trim();
      a.domain = fullDomain(a.domain);
      const missing = ACCOUNT_FIELDS.filter(([key, , attrs]) => attrs.required && !a[key]).map(([, label]) => label);
      if (missing.length) {
        say(box, `Fill in: ${missing.join(', ')}.`);
        inputs[ACCOUNT_FIELDS.find(([, label]) => label === missing[0])[0]].focus();
        return;
      }
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(a.email)) { say(box, 'Email: not an email address.'); inputs.email.focus(); return; }
      clearTimeout(timer);
      await checkDomain();
      if (domainFree !== true) {
        say(box, `Domain: ${domainStatus.textContent || 'choose a free domain.'}`);
        inputs.domain.focus();
        return;
      }
      location.hash = '#/customers/new/subscriptions';
    });
    page('Add customer: Account info', h('h1', {}, 'Add customer'), stepList('account'),
         h('h2', {id: 'step-title'}, 'Account info'), form);
    if (a.domain) checkDomain();
    inputs.companyName.focus();
  }

  function currentPrices(offer) {
    const now = new Date().toISOString();
    return (offer.prices || []).filter((p) => p.effectiveStartDate <= now);
  }
  function price(offer, termDuration, billingCycle) {
    const p = currentPrices(offer).filter((x) => x.termDuration === termDuration && x.billingCycle === billingCycle)
      .sort((x, y) => (x.effectiveStartDate < y.effectiveStartDate ? 1 : -1))[0];
    return p ? `${p.unitPrice.toFixed(2)} ${p.currency} / license / ${billingCycle === 'monthly' ? 'month' : billingCycle === 'annual' ? 'year' : billingCycle}` : '';
  }

  async function subscriptionsStep() {
    const box = alertBox();
    page('Add customer: Subscriptions', h('h1', {}, 'Add customer'), stepList('subscriptions'),
         h('h2', {id: 'step-title'}, 'Subscriptions'), h('p', {}, 'Loading offers…'), box);
    let list, template;
    try {
      [list, template] = await Promise.all([offers(), mcaTemplate()]);
    } catch (err) {
      return say(box, err.message);
    }
    const rows = list.filter((o) => !o.isAddOn).map((o) => {
      const sel = wizard.lines[o.id];
      const terms = [...new Set(currentPrices(o).map((p) => p.termDuration))];
      const nameId = uid('offer');
      const check = h('input', {type: 'checkbox', id: nameId, checked: !!sel});
      const qty = h('input', {type: 'number', min: o.minimumQuantity || 1, max: o.maximumQuantity || 10000,
                              value: sel ? sel.quantity : 1, id: uid('q')});
      const termSel = h('select', {id: uid('t')}, terms.map((t) => h('option', {value: t}, term(t))));
      const cycleSel = h('select', {id: uid('c')});
      const cost = h('span', {class: 'hint'});
      function cycles() {
        const keep = sel && sel.billingCycle;
        const cs = [...new Set(currentPrices(o).filter((p) => p.termDuration === termSel.value).map((p) => p.billingCycle))];
        cycleSel.replaceChildren(...cs.map((c) => h('option', {value: c}, cap(c))));
        if (keep && cs.includes(keep)) cycleSel.value = keep;
        cost.textContent = price(o, termSel.value, cycleSel.value);
      }
      if (sel && sel.termDuration) termSel.value = sel.termDuration;
      else if (terms.includes('P1M')) termSel.value = 'P1M';
      cycles();
      termSel.addEventListener('change', cycles);
      cycleSel.addEventListener('change', () => { cost.textContent = price(o, termSel.value, cycleSel.value); });
      qty.addEventListener('input', () => { if (qty.value) check.checked = true; });
      const row = h('div', {class: 'offer', role: 'group', 'aria-labelledby': `${nameId}-label`},
                    check, h('label', {for: nameId, id: `${nameId}-label`, class: 'name'}, o.name),
                    h('div', {class: 'sub'}, h('label', {for: qty.id}, 'Number of licenses'), qty),
                    h('div', {class: 'sub'}, h('label', {for: termSel.id}, 'Term'), termSel),
                    h('div', {class: 'sub'}, h('label', {for: cycleSel.id}, 'Billing cycle'), cycleSel), cost);
      return {o, check, qty, termSel, cycleSel, row};
    });
    let agree = null;
    if (template) {
      agree = h('input', {type: 'checkbox', id: 'mca', checked: wizard.agreed});
      agree.addEventListener('change', () => say(box, ''));
    }
    const form = h('form', {novalidate: true, 'aria-labelledby': 'step-title'},
                   h('p', {class: 'hint'}, 'Choose the offers to buy now (or none: subscriptions can be added later).'),
                   rows.map((r) => r.row),
                   agree ? h('div', {class: 'check'}, agree,
                             h('label', {for: 'mca'}, 'The customer has accepted the Microsoft Customer Agreement')) : null,
                   box,
                   h('div', {class: 'actions'},
                     h('a', {href: '#/customers/new/account'}, 'Back: Account info'),
                     h('button', {type: 'submit'}, 'Next: Review')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const lines = {};
      for (const r of rows) {
        if (!r.check.checked) continue;
        const n = Number(r.qty.value);
        const min = r.o.minimumQuantity || 1, max = r.o.maximumQuantity || 10000;
        if (!Number.isInteger(n) || n < min || n > max) {
          say(box, `${r.o.name}: the number of licenses must be a whole number from ${min} to ${max}.`);
          r.qty.focus();
          return;
        }
        lines[r.o.id] = {quantity: n, termDuration: r.termSel.value, billingCycle: r.cycleSel.value};
      }
      wizard.lines = lines;
      wizard.agreed = agree ? agree.checked : false;
      if (Object.keys(lines).length && agree && !agree.checked) {
        say(box, 'Nothing can be bought for the customer before it accepts the Microsoft Customer Agreement: tick it, or choose no offer.');
        agree.focus();
        return;
      }
      location.hash = '#/customers/new/review';
    });
    page('Add customer: Subscriptions', h('h1', {}, 'Add customer'), stepList('subscriptions'),
         h('h2', {id: 'step-title'}, 'Subscriptions'), form);
  }

  function reviewBody(template) {
    const a = wizard.account;
    const body = {
      companyProfile: {domain: a.domain, companyName: a.companyName},
      billingProfile: {
        email: a.email, culture: a.culture, language: a.language, companyName: a.companyName,
        defaultAddress: {firstName: a.firstName, lastName: a.lastName, addressLine1: a.addressLine1, city: a.city,
                         state: a.state, postalCode: a.postalCode, country: a.country, phoneNumber: a.phone},
      },
    };
    for (const k of ['state', 'postalCode', 'phoneNumber']) if (!body.billingProfile.defaultAddress[k]) delete body.billingProfile.defaultAddress[k];
    const ids = Object.keys(wizard.lines);
    if (ids.length) {
      body.lineItems = ids.map((id, i) => ({lineItemNumber: i, offerId: id, ...wizard.lines[id]}));
    }
    if (template && wizard.agreed) {
      const contact = {firstName: a.firstName, lastName: a.lastName, email: a.email};
      if (a.phone) contact.phoneNumber = a.phone;
      body.agreement = {primaryContact: contact, dateAgreed: new Date().toISOString().slice(0, 10), templateId: template,
                        type: 'MicrosoftCustomerAgreement'};
    }
    return body;
  }

  async function reviewStep() {
    const a = wizard.account;
    if (!a.domain || !a.companyName) { location.hash = '#/customers/new/account'; return; }
    let list, template;
    const box = alertBox();
    try {
      [list, template] = await Promise.all([offers(), mcaTemplate()]);
    } catch (err) {
      page('Add customer: Review', h('h1', {}, 'Add customer'), box);
      return say(box, err.message);
    }
    // One request id per review: a double click or a retry of this Submit
    // is the same request, answered once (tallyd keeps its outcome).
    wizard.requestId = uuid();
    const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v || '—')];
    const accountSection = h('section', {'aria-labelledby': 'review-account', class: 'card'},
      h('div', {class: 'actions'}, h('h3', {id: 'review-account'}, 'Account info'),
        h('a', {href: '#/customers/new/account', 'aria-describedby': 'review-account'}, 'Edit')),
      h('dl', {class: 'facts'},
        fact('Company name', a.companyName), fact('Domain', a.domain), fact('Name', `${a.firstName} ${a.lastName}`),
        fact('Email', a.email), fact('Phone', a.phone),
        fact('Address', [a.addressLine1, a.city, a.state, a.postalCode, a.country].filter(Boolean).join(', ')),
        fact('Culture', a.culture), fact('Language', a.language)));
    const ids = Object.keys(wizard.lines);
    const byId = Object.fromEntries(list.map((o) => [o.id, o]));
    const subsSection = h('section', {'aria-labelledby': 'review-subs', class: 'card'},
      h('div', {class: 'actions'}, h('h3', {id: 'review-subs'}, 'Subscriptions'),
        h('a', {href: '#/customers/new/subscriptions', 'aria-describedby': 'review-subs'}, 'Edit')),
      ids.length
        ? h('table', {'aria-label': 'Subscriptions to buy'},
            h('thead', {}, h('tr', {}, h('th', {}, 'Offer'), h('th', {}, 'Licenses'), h('th', {}, 'Term'), h('th', {}, 'Billing cycle'), h('th', {}, 'Price'))),
            h('tbody', {}, ids.map((id) => {
              const l = wizard.lines[id];
              return h('tr', {}, h('td', {}, byId[id] ? byId[id].name : id), h('td', {}, l.quantity), h('td', {}, term(l.termDuration)),
                       h('td', {}, cap(l.billingCycle)), h('td', {}, byId[id] ? price(byId[id], l.termDuration, l.billingCycle) : ''));
            })))
        : h('p', {}, 'None: the customer is added without subscriptions.'),
      template && wizard.agreed ? h('p', {}, 'The customer has accepted the Microsoft Customer Agreement (confirmed today).') : null);
    const submit = h('button', {type: 'button'}, 'Submit');
    const progress = h('span', {role: 'status', class: 'hint'});
    submit.addEventListener('click', async () => {
      if (wizard.submitting) return;  // a second click while the first is on its way
      wizard.submitting = true;
      submit.disabled = true;
      say(box, '');
      say(progress, 'Adding the customer…');
      try {
        const {data} = await api('POST', '/v1/customers', {body: reviewBody(template), headers: {'MS-RequestId': wizard.requestId}});
        wizard.result = {id: data.id, domain: data.companyProfile.domain, userName: data.userCredentials.userName,
                         password: data.userCredentials.password || null};
        wizard.submitting = false;
        listState = {query: '', tokens: [''], index: 0};
        location.hash = '#/customers/new/done';
      } catch (err) {
        wizard.submitting = false;
        submit.disabled = false;
        say(progress, '');
        say(box, `The customer was not added: ${err.message}`);
      }
    });
    page('Add customer: Review', h('h1', {}, 'Add customer'), stepList('review'), h('h2', {id: 'step-title'}, 'Review'),
         accountSection, subsSection, box, h('div', {class: 'actions'}, submit, progress));
  }

  function confirmationPage() {
    const r = wizard && wizard.result;
    if (!r) { location.hash = '#/customers'; return; }
    const user = field('Admin user', {readonly: true, value: r.userName, class: 'secret'});
    const children = [h('h1', {}, 'Customer added'), h('p', {}, `${r.domain} is ready. Give its administrator these credentials.`), user.wrap];
    const copied = h('span', {role: 'status', class: 'hint'});
    if (r.password) {
      const pw = field('Password', {readonly: true, value: r.password, class: 'secret', autocomplete: 'off'});
      const copy = h('button', {type: 'button', class: 'secondary'}, 'Copy');
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(r.password);
        } catch (e) {  // no clipboard API (not a secure context): select and copy
          pw.input.select();
          document.execCommand('copy');
        }
        say(copied, 'Password copied.');
      });
      pw.wrap.append(h('div', {class: 'actions'}, copy, copied));
      children.push(pw.wrap, h('p', {class: 'notice'},
        'The password is shown only once: tally does not store it, and this page forgets it when you leave.'));
    } else {
      children.push(h('p', {class: 'notice'},
        'This answer repeats an earlier one: the password was shown with the first answer only and is not stored.'));
    }
    const done = h('button', {type: 'button'}, 'Done');
    done.addEventListener('click', () => {
      const id = r.id;
      wizard = null;  // the password goes with it
      location.hash = `#/customers/${enc(id)}`;
    });
    children.push(h('div', {class: 'actions'}, done));
    page('Customer added', ...children);
    done.focus();
  }

  // ---- one customer ----------------------------------------------------------

  async function customerPage(id) {
    const box = alertBox();
    page('Customer', h('p', {}, 'Loading…'), box);
    const base = `/v1/customers/${enc(id)}`;
    let c, subs, partners, invitations, list;
    try {
      [c, subs, partners, invitations, list] = await Promise.all([
        api('GET', base).then((r) => r.data), api('GET', `${base}/subscriptions`).then((r) => r.data.items),
        api('GET', `${base}/partners`).then((r) => r.data.items),
        api('GET', `${base}/relationshiprequests`).then((r) => r.data.items), offers()]);
    } catch (err) {
      page('Customer', h('h1', {}, 'Customer'), box, h('p', {}, h('a', {href: '#/customers'}, 'Back to customers')));
      return say(box, err.message);
    }
    const byOffer = Object.fromEntries(list.map((o) => [o.id, o]));
    const bp = c.billingProfile || {};
    const addr = bp.defaultAddress || {};
    const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v === undefined || v === '' ? '—' : v)];
    const profile = h('section', {'aria-labelledby': 'profile', class: 'card'}, h('h2', {id: 'profile'}, 'Profile'),
      h('dl', {class: 'facts'},
        fact('Company name', c.companyProfile.companyName), fact('Domain', c.companyProfile.domain),
        fact('Customer id', c.id), fact('Status', c.status), fact('Relationship', c.relationshipToPartner),
        fact('Admin user', c.userCredentials ? c.userCredentials.userName : ''),
        fact('Contact', [addr.firstName, addr.lastName].filter(Boolean).join(' ')), fact('Email', bp.email),
        fact('Phone', addr.phoneNumber),
        fact('Address', [addr.addressLine1, addr.city, addr.state, addr.postalCode, addr.country].filter(Boolean).join(', ')),
        fact('Culture / language', [bp.culture, bp.language].filter(Boolean).join(' / ')), fact('Added', when(c.createdAt))));
    const bases = subs.filter((s) => !s.parentSubscriptionId);
    const addOnsOf = (sid) => subs.filter((s) => s.parentSubscriptionId === sid);
    const subsSection = h('section', {'aria-labelledby': 'subs'}, h('h2', {id: 'subs'}, 'Subscriptions'),
      bases.length ? bases.map((s) => subscriptionCard(s, addOnsOf(s.id), byOffer, id)) : h('p', {}, 'No subscriptions from you.'));
    const partnersSection = h('section', {'aria-labelledby': 'partners', class: 'card'}, h('h2', {id: 'partners'}, 'Partners'),
      h('table', {'aria-label': 'Partners'}, h('thead', {}, h('tr', {}, h('th', {}, 'Partner'), h('th', {}, 'Role'), h('th', {}, 'Since'))),
        h('tbody', {}, partners.map((p) => h('tr', {}, h('td', {}, p.partnerId), h('td', {}, p.role), h('td', {}, when(p.since)))))),
      h('h3', {}, 'Relationship requests'),
      invitations.length
        ? h('table', {'aria-label': 'Relationship requests'},
            h('thead', {}, h('tr', {}, h('th', {}, 'Invitation'), h('th', {}, 'Partner'), h('th', {}, 'Requested'))),
            h('tbody', {}, invitations.map((i) => h('tr', {}, h('td', {}, i.invitationId), h('td', {}, i.partnerId), h('td', {}, when(i.requestedAt))))))
        : h('p', {class: 'hint'}, 'None pending.'));
    page(c.companyProfile.companyName || 'Customer', h('p', {}, h('a', {href: '#/customers'}, 'Customers')),
         h('h1', {}, c.companyProfile.companyName || c.companyProfile.domain), box, profile, subsSection, partnersSection);
  }

  // One subscription with its add-ons and the changes the API allows in its
  // state: quantity, rename and auto-renew while active; suspend (active);
  // reactivate (suspended); cancel (not cancelled; the API says when its
  // 7-day window has passed); an add-on (an active base with add-ons).
  function subscriptionCard(s, addOns, byOffer, customerId) {
    const box = alertBox();
    const base = `/v1/customers/${enc(customerId)}`;
    const patch = async (body, button) => {
      if (button) button.disabled = true;
      say(box, '');
      try {
        await api('PATCH', `${base}/subscriptions/${enc(s.id)}`, {body});
        customerPage(customerId);  // reads wait for this write (read-your-writes)
      } catch (err) {
        say(box, err.message);
        if (button) button.disabled = false;
      }
    };
    const label = s.friendlyName || s.offerName;
    const headingId = uid('sub');
    const tools = h('div', {class: 'tools'});
    const active = s.status === 'active';
    if (active) {
      const q = field('Number of licenses', {type: 'number', min: 1, value: s.quantity});
      const change = h('button', {type: 'button', class: 'secondary'}, 'Change quantity');
      change.addEventListener('click', () => {
        const n = Number(q.input.value);
        if (!Number.isInteger(n) || n < 1) return say(box, 'The number of licenses must be a whole number, 1 or more.');
        patch({quantity: n}, change);
      });
      tools.append(h('div', {}, q.wrap, change));
      const name = field('Friendly name', {value: s.friendlyName, maxlength: 128});
      const rename = h('button', {type: 'button', class: 'secondary'}, 'Rename');
      rename.addEventListener('click', () => {
        const v = name.input.value.trim();
        if (!v) return say(box, 'The friendly name must not be empty.');
        patch({friendlyName: v}, rename);
      });
      tools.append(h('div', {}, name.wrap, rename));
      const renewId = uid('renew');
      const renew = h('input', {type: 'checkbox', id: renewId, checked: !!s.autoRenewEnabled});
      renew.addEventListener('change', () => patch({autoRenewEnabled: renew.checked}, null));
      tools.append(h('div', {class: 'check'}, renew, h('label', {for: renewId}, 'Auto-renew')));
      tools.append(h('button', {type: 'button', class: 'secondary', onclick: (e) => patch({status: 'suspended'}, e.currentTarget)}, 'Suspend'));
    }
    if (s.status === 'suspended') {
      tools.append(h('button', {type: 'button', onclick: (e) => patch({status: 'active'}, e.currentTarget)}, 'Reactivate'));
    }
    if (s.status === 'active' || s.status === 'suspended') {
      const cancel = h('button', {type: 'button', class: 'danger'}, 'Cancel subscription');
      cancel.addEventListener('click', () => {
        const sure = h('button', {type: 'button', class: 'danger'}, 'Yes, cancel it');
        sure.addEventListener('click', () => patch({status: 'deleted'}, sure));
        const keep = h('button', {type: 'button', class: 'secondary', onclick: () => confirmRow.replaceWith(cancel)}, 'Keep it');
        const confirmRow = h('div', {class: 'actions'}, h('span', {}, `Cancel ${label}? Only within 7 days of buying or renewing.`), sure, keep);
        cancel.replaceWith(confirmRow);
        sure.focus();
      });
      tools.append(cancel);
    }
    const card = h('article', {class: 'card', 'aria-labelledby': headingId},
      h('h3', {id: headingId}, label),
      h('dl', {class: 'facts'},
        [['Offer', s.offerName], ['Status', s.status], ['Licenses', s.quantity], ['Term', term(s.termDuration)],
         ['Billing cycle', cap(s.billingCycle)], ['Started', day(s.effectiveStartDate)], ['Term ends', day(s.commitmentEndDate)],
         ['Auto-renew', s.autoRenewEnabled ? 'on' : 'off'], ['Cancellable until', when(s.cancellationAllowedUntilDate)]]
          .filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      tools, box);
    const offer = byOffer[s.offerId];
    const available = Object.values(byOffer).filter((o) => o.isAddOn && (o.prerequisiteOffers || []).includes(s.offerId));
    if (active && !s.isAddOn && available.length && offer) {
      const pick = field('Add-on', {tag: 'select'});
      pick.input.append(...available.map((o) => h('option', {value: o.id}, o.name)));
      const n = field('Add-on licenses', {type: 'number', min: 1, value: 1});
      const add = h('button', {type: 'button', class: 'secondary'}, 'Add add-on');
      add.addEventListener('click', async () => {
        const qty = Number(n.input.value);
        if (!Number.isInteger(qty) || qty < 1) return say(box, 'The number of add-on licenses must be a whole number, 1 or more.');
        add.disabled = true;
        say(box, '');
        try {
          await api('PATCH', `${base}/orders/${enc(s.orderId)}`,
                    {body: {lineItems: [{offerId: pick.input.value, quantity: qty, parentSubscriptionId: s.id}]},
                     headers: {'MS-RequestId': uuid()}});
          customerPage(customerId);
        } catch (err) {
          say(box, err.message);
          add.disabled = false;
        }
      });
      card.insertBefore(h('div', {class: 'tools'}, pick.wrap, n.wrap, h('div', {class: 'field'}, add)), box);
    }
    if (addOns.length) {
      card.append(h('h4', {}, 'Add-ons'), ...addOns.map((a) => subscriptionCard(a, [], byOffer, customerId)));
    }
    return card;
  }

  // ---- operators: read models, rebuilds, the Kafka relay, events ------------

  async function operationsPage() {
    const box = alertBox();
    const models = h('tbody');
    const facts = h('dl', {class: 'facts'});
    const relay = h('dl', {class: 'facts'});
    const rebuildBox = alertBox();
    const bar = h('progress', {max: 1, value: 0, 'aria-label': 'Rebuild progress'});
    const rebuildText = h('p', {role: 'status'});
    const allButton = h('button', {type: 'button', class: 'secondary'}, 'Rebuild all');
    allButton.addEventListener('click', () => startRebuild(['all']));
    page('Operations', h('h1', {}, 'Operations'), box,
      h('section', {class: 'card', 'aria-labelledby': 'engine'}, h('h2', {id: 'engine'}, 'Engine'), facts),
      h('section', {class: 'card', 'aria-labelledby': 'models'}, h('h2', {id: 'models'}, 'Read models'),
        h('table', {'aria-label': 'Read models'},
          h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Position'), h('th', {}, 'Lag (events)'), h('th', {}, 'State'), h('th', {}, ''))),
          models),
        h('div', {class: 'actions'}, allButton)),
      h('section', {class: 'card', 'aria-labelledby': 'rebuild'}, h('h2', {id: 'rebuild'}, 'Rebuild'), bar, rebuildText, rebuildBox),
      h('section', {class: 'card', 'aria-labelledby': 'relay'}, h('h2', {id: 'relay'}, 'Kafka relay'), relay));
    let running = false;
    async function startRebuild(names) {
      say(rebuildBox, '');
      try {
        const {data} = await api('POST', '/admin/v1/rebuild', {body: {models: names}});
        showRebuild(data);
        pollRebuild();
      } catch (err) {
        say(rebuildBox, err.message);
      }
    }
    function showRebuild(r) {
      running = r.state === 'running';
      for (const b of main.querySelectorAll('button[data-rebuild]')) b.disabled = running;
      allButton.disabled = running;
      if (r.state === 'idle') {
        bar.max = 1; bar.value = 0;
        return say(rebuildText, 'No rebuild asked for since tallyd started.');
      }
      const names = r.models.join(', ');
      bar.max = Math.max(r.head, 1);
      bar.value = Math.min(r.position, bar.max);
      const pct = r.head ? Math.floor((100 * Math.min(r.position, r.head)) / r.head) : 100;
      if (r.state === 'running') say(rebuildText, `Rebuilding ${names}: ${r.position} of ${r.head} events (${pct}%).`);
      else if (r.state === 'done') say(rebuildText, `Rebuilt ${names}: ${r.position} of ${r.head} events, done at ${when(r.finishedAt)}.`);
      else say(rebuildText, `The rebuild of ${names} failed: ${r.error || 'see tallyd\'s log'}.`);
    }
    async function pollRebuild() {
      try {
        const {data} = await api('GET', '/admin/v1/rebuild');
        showRebuild(data);
        if (data.state === 'running' && main.contains(bar)) setTimeout(pollRebuild, 300);
        else refresh();
      } catch (err) {
        say(rebuildBox, err.message);
      }
    }
    // /healthz answers 503 with the same body while the log is damaged.
    async function health() {
      try {
        return (await api('GET', '/healthz')).data;
      } catch (err) {
        if (err.status === 503 && err.body && err.body.status) return err.body;
        throw err;
      }
    }
    async function refresh() {
      try {
        const data = await health();
        const damage = data.damage || [];
        say(box, damage.length === 0 ? '' : 'The event log is damaged; writes are refused until an operator heals it '
            + 'or accepts the loss: ' + damage.map((d) => `positions ${d.firstPosition}-${d.lastPosition} (${d.witness}): ${d.detail}`).join('; '));
        facts.replaceChildren(
          h('dt', {}, 'Status'), h('dd', {}, data.status), h('dt', {}, 'Log head'), h('dd', {}, data.head),
          h('dt', {}, 'Instance'), h('dd', {}, data.instance),
          h('dt', {}, 'Writes'), h('dd', {}, data.writes.accepted ? 'accepted' : `refused: ${data.writes.reason}`));
        models.replaceChildren(...data.readModels.map((m) => h('tr', {},
          h('td', {}, m.model), h('td', {}, m.position), h('td', {}, m.lag), h('td', {}, m.failed ? 'failed' : 'running'),
          h('td', {}, h('button', {type: 'button', class: 'secondary', 'data-rebuild': m.model, 'aria-label': `Rebuild ${m.model}`,
                                   disabled: running, onclick: () => startRebuild([m.model])}, 'Rebuild')))));
        const k = data.kafka;
        relay.replaceChildren(...(k ? [
          ['Bootstrap', data.kafka_bootstrap], ['Topic', k.topic], ['Connected', k.connected ? 'yes' : 'no'],
          ['Published up to', k.published], ['Lag (events)', Math.max(0, data.head - k.published)],
          ['Lag (seconds)', Number(k.lagSeconds).toFixed(1)], ['Holds the whole log', k.holdsWholeLog ? 'yes' : 'no'],
          ['Last error', k.lastError || 'none']] : [['Relay', 'none']]).flatMap(([a, b]) => [h('dt', {}, a), h('dd', {}, b)]));
      } catch (err) {
        say(box, err.message);
      }
    }
    await refresh();
    pollRebuild();
    every(2000, refresh);
  }

  async function eventsPage() {
    const filters = [['from', 'From position', 'number'], ['to', 'To position', 'number'], ['customer', 'Customer', 'text'],
                     ['type', 'Event type', 'text'], ['partner', 'Partner', 'text'], ['since', 'Since', 'text'],
                     ['until', 'Until', 'text'], ['limit', 'Limit', 'number']];
    const inputs = {};
    const fields = filters.map(([key, label, type]) => {
      const f = field(label, {type, min: type === 'number' ? 0 : null,
                              placeholder: key === 'since' || key === 'until' ? 'YYYY-MM-DD' : key === 'customer' ? 'id or domain' : null});
      inputs[key] = f.input;
      return f.wrap;
    });
    inputs.limit.value = '50';
    const box = alertBox();
    const list = h('tbody');
    const more = h('button', {type: 'button', class: 'secondary', hidden: true}, 'Next page');
    const status = h('p', {role: 'status', class: 'hint'});
    const form = h('form', {'aria-label': 'Event filters'}, h('div', {class: 'filters'}, fields),
                   h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Show events')));
    let next = null;
    const loadTurn = newestOnly();
    async function load(from) {
      const current = loadTurn();
      say(box, '');
      const q = new URLSearchParams();
      for (const [key] of filters) {
        const v = key === 'from' && from ? String(from) : inputs[key].value.trim();
        if (v) q.set(key, v);
      }
      try {
        const {data} = await api('GET', `/admin/v1/events?${q}`);
        if (!current()) return;
        if (!from) list.replaceChildren();
        for (const e of data.items) {
          list.append(h('tr', {}, h('td', {}, e.position), h('td', {}, when(new Date(e.recorded_at_us / 1000).toISOString())),
            h('td', {}, e.payload_type), h('td', {}, e.stream_id), h('td', {}, e.partner_id || ''),
            h('td', {}, h('details', {}, h('summary', {}, 'Event'), h('pre', {}, JSON.stringify(e, null, 2))))));
        }
        next = data.next || null;
        more.hidden = !next;
        say(status, `${list.children.length} event(s) shown; log head ${data.head}.${next ? ` More from position ${next}.` : ''}`);
      } catch (err) {
        if (!current()) return;
        say(box, err.message);
      }
    }
    form.addEventListener('submit', (e) => { e.preventDefault(); load(null); });
    more.addEventListener('click', () => load(next));

    const vFrom = field('Verify from position', {type: 'number', min: 1, value: 1});
    const vTo = field('Verify to position', {type: 'number', min: 0}, 'Empty: the head.');
    const vBox = alertBox();
    const vResult = h('p', {role: 'status'});
    const verify = h('button', {type: 'submit'}, 'Verify');
    const vForm = h('form', {'aria-label': 'Verify the chain'}, h('div', {class: 'filters'}, vFrom.wrap, vTo.wrap),
                    h('div', {class: 'actions'}, verify));
    vForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      say(vBox, '');
      say(vResult, 'Verifying…');
      verify.disabled = true;
      const body = {};
      if (vFrom.input.value) body.from = Number(vFrom.input.value);
      if (vTo.input.value) body.to = Number(vTo.input.value);
      try {
        const {data} = await api('POST', '/admin/v1/verify', {body});
        say(vResult, data.ok ? `OK: ${data.checked} events verified (positions ${data.from}..${data.to}) in ${data.seconds.toFixed(2)} s.`
                             : `FAILED at position ${data.firstBad}: ${data.reason} (${data.checked} records checked).`);
        vResult.className = data.ok ? 'ok' : 'bad';
      } catch (err) {
        say(vResult, '');
        say(vBox, err.message);
      } finally {
        verify.disabled = false;
      }
    });
    page('Events', h('h1', {}, 'Events'),
      h('section', {class: 'card', 'aria-labelledby': 'browse'}, h('h2', {id: 'browse'}, 'Browse'),
        h('p', {class: 'hint'}, 'Events as tallyctl replay prints them. Customer: one customer\'s history, by id or domain.'),
        form, box, status,
        h('table', {'aria-label': 'Events'},
          h('thead', {}, h('tr', {}, h('th', {}, 'Position'), h('th', {}, 'Recorded'), h('th', {}, 'Type'), h('th', {}, 'Stream'),
                           h('th', {}, 'Partner'), h('th', {}, ''))), list),
        h('div', {class: 'actions'}, more)),
      h('section', {class: 'card', 'aria-labelledby': 'verify'}, h('h2', {id: 'verify'}, 'Verify the hash chain'), vForm, vBox, vResult));
    load(null);
  }

  route();
})();
