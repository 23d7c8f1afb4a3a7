// A test double of the Office.js surface the task pane uses, served by
// the browser test in place of Microsoft's hosted office.js (which the
// test intercepts); never shipped in the app. The test prepends
//   const officeDouble = {...};
// with the draft (subject, html, attachments, to, cc, bcc), the host's
// requirement sets, and the nested app authentication answer (the
// account, and the access token the dev issuer made for it).
(() => {
  const d = officeDouble;
  const ok = (value) => ({ status: "succeeded", value, error: null, asyncContext: undefined, diagnostics: undefined });
  // Office.js answers later, never in the caller's turn.
  const later = (cb, r) => { if (typeof cb === "function") setTimeout(() => cb(r), 0); };
  const lastCb = (args) => args.reverse().find((a) => typeof a === "function");
  const recipients = (key) => ({
    getAsync: (...args) => later(lastCb(args), ok(d[key].map((a) => ({ emailAddress: a, displayName: a, recipientType: "externalUser" })))),
    setAsync: (list, ...args) => {
      d[key] = list.map((r) => (typeof r === "string" ? r : r.emailAddress));
      later(lastCb(args), ok(undefined));
    },
  });
  const sets = d.sets; // e.g. {"Mailbox": "1.8", "NestedAppAuth": "1.1"}
  const atLeast = (have, want) => {
    const a = String(have).split(".").map(Number), b = String(want || "1.1").split(".").map(Number);
    return a[0] > b[0] || (a[0] === b[0] && (a[1] || 0) >= (b[1] || 0));
  };
  window.Office = {
    CoercionType: { Html: "html", Text: "text" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived" },
    HostType: { Outlook: "Outlook" },
    PlatformType: { OfficeOnline: "OfficeOnline" },
    onReady(cb) {
      const info = { host: "Outlook", platform: "OfficeOnline" };
      const p = new Promise((resolve) => setTimeout(() => resolve(info), 0));
      if (cb) p.then(cb);
      return p;
    },
    context: {
      diagnostics: { hostName: "Outlook", version: "16.0.test-double", platform: "OfficeOnline" },
      requirements: { isSetSupported: (name, version) => name in sets && atLeast(sets[name], version) },
      mailbox: {
        item: {
          itemType: "message",
          subject: {
            getAsync: (...args) => later(lastCb(args), ok(d.subject)),
            setAsync: (s, ...args) => { d.subject = s; later(lastCb(args), ok(undefined)); },
          },
          body: {
            getAsync: (type, ...args) => later(lastCb(args), ok(type === "html" ? d.html : d.html.replace(/<[^>]*>/g, ""))),
          },
          getAttachmentsAsync: (...args) => later(lastCb(args), ok(d.attachments.map((a, i) => ({ id: "att" + i, name: a.name, size: a.size, attachmentType: "file", isInline: false })))),
          to: recipients("to"),
          cc: recipients("cc"),
          bcc: recipients("bcc"),
        },
      },
      ui: {
        // The sign-in dialog: Outlook opens the page in a window of its
        // own; what the page hands back (messageParent) is given by the
        // test, which runs the page in a tab of its own.
        displayDialogAsync(url, options, cb) {
          d.dialogUrl = url;
          const handlers = {};
          const dialog = { addEventHandler: (type, h) => { handlers[type] = h; }, close: () => { d.dialogClosed = true; } };
          later(cb, ok(dialog));
          setTimeout(() => {
            // Office opens only a page of the pane's own origin (12004
            // otherwise); the test's answer is for the sign-in page.
            // As Office.js does, each message says the origin of the page
            // that sent it: a page of another origin in the dialog (one
            // the sign-in page led to) can send one too, first.
            if (new URL(url).origin !== location.origin || new URL(url).pathname !== "/addin/dialog") handlers[Office.EventType.DialogEventReceived]({ error: 12004 });
            else if (d.dialogAnswer) {
              if (d.foreignAnswer) handlers[Office.EventType.DialogMessageReceived]({ message: d.foreignAnswer, origin: "https://evil.example" });
              handlers[Office.EventType.DialogMessageReceived]({ message: d.dialogAnswer, origin: location.origin });
            } else handlers[Office.EventType.DialogEventReceived]({ error: 12006 });
          }, 50);
        },
        messageParent(m) { (d.parentMessages = d.parentMessages || []).push(m); },
      },
    },
  };
  // Outlook's broker for nested app authentication, as MSAL.js talks to
  // it: JSON requests through postMessage, answers to "message" listeners.
  if (d.naa) {
    const listeners = [];
    const reply = (m) => setTimeout(() => listeners.forEach((l) => l(JSON.stringify(m))), 0);
    window.nestedAppAuthBridge = {
      addEventListener: (name, cb) => { if (name === "message") listeners.push(cb); },
      removeEventListener: (name, cb) => { const i = listeners.indexOf(cb); if (i >= 0) listeners.splice(i, 1); },
      postMessage: (raw) => {
        const req = JSON.parse(raw);
        d.naaRequests = (d.naaRequests || 0) + 1;
        const base = { messageType: "NestedAppAuthResponse", requestId: req.requestId };
        if (req.method === "GetInitContext") {
          reply({ ...base, success: true, initContext: { sdkName: "outlook-test-double", sdkVersion: "1.0", capabilities: { queryAccount: false } } });
        } else if (req.method === "GetToken" || req.method === "GetTokenPopup") {
          d.scopesAsked = req.tokenParams && req.tokenParams.scope;
          reply({ ...base, success: true, account: d.naa.account, token: {
            access_token: d.naa.accessToken, expires_in: 3600, id_token: d.naa.idToken, properties: null, scope: req.tokenParams.scope,
          } });
        } else {
          reply({ ...base, success: false, error: { status: "PERSISTENT_ERROR", code: "unsupported_method", description: req.method, properties: null } });
        }
      },
    };
  }
  window.officeDoubleState = d;
})();
