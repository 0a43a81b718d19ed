/*
 * FSE 2.0 FAD course: the player shared by every package (no dependencies).
 *
 * SCORM 1.2: finds window.API in the parent and opener chain, LMSInitialize, resumes from
 * cmi.core.lesson_location and cmi.suspend_data, reports cmi.core.lesson_status,
 * cmi.core.score.raw (0-100), cmi.core.session_time (HHHH:MM:SS.SS), interactions and objectives,
 * LMSCommit, LMSFinish.
 * xAPI: with the launch parameters of mod_tincanlaunch (endpoint, auth, actor, registration,
 * activity_id) it sends the statements of docs/xapi-profile.md and reads the learner's levels from
 * the State document the backend writes. Without an LMS it still works, resuming from xAPI State.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("fse-pacchetto").textContent);
  var doc = document.documentElement;
  doc.className += " js";
  var started = new Date();

  var VERBS = {
    initialized: ["http://adlnet.gov/expapi/verbs/initialized", "ha iniziato", "initialized"],
    progressed: ["http://adlnet.gov/expapi/verbs/progressed", "è avanzato in", "progressed"],
    answered: ["http://adlnet.gov/expapi/verbs/answered", "ha risposto a", "answered"],
    completed: ["http://adlnet.gov/expapi/verbs/completed", "ha completato", "completed"],
    passed: ["http://adlnet.gov/expapi/verbs/passed", "ha superato", "passed"],
    failed: ["http://adlnet.gov/expapi/verbs/failed", "non ha superato", "failed"],
    terminated: ["http://adlnet.gov/expapi/verbs/terminated", "ha chiuso", "terminated"]
  };

  // ---------------------------------------------------------------- small helpers
  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function text(el) { return (el.textContent || "").replace(/\s+/g, " ").trim(); }
  function pad(n, width) { var s = String(n); while (s.length < width) { s = "0" + s; } return s; }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return pad(x.toString(16), 2); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function elapsedSeconds() { return Math.max(0, (new Date() - started) / 1000); }

  // SCORM 1.2 CMITimespan: HHHH:MM:SS.SS
  function scormTime(seconds) {
    var cs = Math.round(seconds * 100);
    var h = Math.floor(cs / 360000), m = Math.floor(cs % 360000 / 6000), s = cs % 6000 / 100;
    return pad(Math.min(h, 9999), 4) + ":" + pad(m, 2) + ":" + pad(s.toFixed(2), 5);
  }

  // xAPI duration: ISO 8601
  function isoDuration(seconds) {
    var cs = Math.round(seconds * 100);
    var h = Math.floor(cs / 360000), m = Math.floor(cs % 360000 / 6000), s = cs % 6000 / 100;
    return "PT" + (h ? h + "H" : "") + (m ? m + "M" : "") + s.toFixed(2) + "S";
  }

  // ---------------------------------------------------------------- SCORM 1.2
  function findAPI(win) {
    for (var i = 0; win && i < 12; i++) {
      try { if (win.API) { return win.API; } } catch (e) { /* another origin */ }
      var parent = null;
      try { parent = win.parent; } catch (e) { parent = null; }
      if (!parent || parent === win) { break; }
      win = parent;
    }
    return null;
  }

  var lms = {
    api: null, active: false, finished: false, review: false,
    start: function () {
      this.api = findAPI(window);
      if (!this.api && window.opener) { try { this.api = findAPI(window.opener); } catch (e) { this.api = null; } }
      if (!this.api) { return false; }
      this.active = String(this.api.LMSInitialize("")) === "true";
      return this.active;
    },
    get: function (name) {
      if (!this.active || this.finished) { return ""; }
      var value = this.api.LMSGetValue(name);
      return value === null || value === undefined ? "" : String(value);
    },
    set: function (name, value) {
      // In review mode the LMS shows a finished attempt again: nothing of it may change.
      if (!this.active || this.finished || this.review) { return false; }
      return String(this.api.LMSSetValue(name, String(value))) === "true";
    },
    commit: function () { if (this.active && !this.finished) { this.api.LMSCommit(""); } },
    finish: function () {
      if (!this.active || this.finished) { return; }
      this.api.LMSFinish("");
      this.finished = true;
    }
  };

  // ---------------------------------------------------------------- xAPI
  function launchParams() {
    var params = new URLSearchParams(window.location.search);
    var endpoint = params.get("endpoint"), actor = params.get("actor");
    if (!endpoint || !actor) { return null; }
    try { actor = normaliseActor(JSON.parse(actor)); } catch (e) { return null; }
    if (endpoint.slice(-1) !== "/") { endpoint += "/"; }
    return {
      endpoint: endpoint,
      auth: params.get("auth") || "",
      actor: actor,
      registration: params.get("registration") || null,
      activityId: params.get("activity_id") || null
    };
  }

  // Older launchers send Tin Can 0.95 agents: arrays and accountServiceHomePage/accountName.
  function normaliseActor(actor) {
    var out = { objectType: "Agent" };
    ["name", "mbox", "mbox_sha1sum", "openid"].forEach(function (key) {
      var value = actor[key];
      if (Array.isArray(value)) { value = value[0]; }
      if (value) { out[key] = value; }
    });
    var account = Array.isArray(actor.account) ? actor.account[0] : actor.account;
    if (account) {
      out.account = { homePage: account.homePage || account.accountServiceHomePage, name: account.name || account.accountName };
    }
    return out;
  }

  var xapi = {
    launch: null, queue: [], inflight: 0, failures: 0, sent: 0,
    headers: function (json) {
      var h = { "X-Experience-API-Version": "1.0.3" };
      if (this.launch.auth) { h.Authorization = this.launch.auth; }
      if (json) { h["Content-Type"] = "application/json"; }
      return h;
    },
    send: function (statement) {
      if (!this.launch) { return; }
      this.queue.push(statement);
      this.flush(false);
    },
    // One request at a time keeps the statements in order. Every request is a keepalive one (within
    // the browser's 64 KB budget), so that what is in flight when the window closes still arrives;
    // when the page goes away, whatever is still queued leaves at once (``now``).
    flush: function (now) {
      var self = this;
      if (!this.launch || !this.queue.length || (this.inflight && !now)) { return; }
      var batch = this.queue.splice(0, 20);
      var body = JSON.stringify(batch);
      this.inflight += 1;
      fetch(this.launch.endpoint + "statements", {
        method: "POST", headers: this.headers(true), body: body, keepalive: body.length < 60000, mode: "cors"
      }).then(function (response) {
        self.inflight -= 1;
        if (response.ok || (response.status >= 400 && response.status < 500 && response.status !== 429)) {
          // Stored, or refused for good (a retry would be refused again): either way, go on.
          self.failures = 0;
          self.sent += batch.length;
          if (!response.ok && window.console) { console.warn("xAPI: statements refused", response.status); }
          self.flush(false);
        } else { self.queue = batch.concat(self.queue); self.retry(); }
      }, function () { self.inflight -= 1; self.queue = batch.concat(self.queue); self.retry(); });
    },
    retry: function () {
      var self = this;
      this.failures += 1;
      if (this.failures > 6) { return; }
      window.setTimeout(function () { self.flush(false); }, 500 * Math.pow(2, this.failures));
    },
    stateUrl: function (activityId, stateId, registration) {
      var url = this.launch.endpoint + "activities/state?activityId=" + encodeURIComponent(activityId) +
        "&agent=" + encodeURIComponent(JSON.stringify(this.launch.actor)) + "&stateId=" + encodeURIComponent(stateId);
      if (registration) { url += "&registration=" + encodeURIComponent(registration); }
      return url;
    },
    getState: function (activityId, stateId, registration) {
      if (!this.launch) { return Promise.resolve(null); }
      return fetch(this.stateUrl(activityId, stateId, registration), { headers: this.headers(false), mode: "cors" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .catch(function () { return null; });
    },
    putState: function (activityId, stateId, registration, value) {
      if (!this.launch) { return; }
      var body = JSON.stringify(value);
      fetch(this.stateUrl(activityId, stateId, registration), {
        method: "PUT", headers: this.headers(true), body: body, keepalive: body.length < 60000, mode: "cors"
      }).catch(function () { /* resuming is a convenience */ });
    }
  };

  function langMap(value) { return { "it-IT": value }; }

  function activity(id, type, name, extra) {
    var definition = { type: type, name: langMap(name) };
    if (extra) { for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { definition[k] = extra[k]; } } }
    return { objectType: "Activity", id: id, definition: definition };
  }

  function scoActivity() {
    var a = config.activity;
    return activity(xapi.launch && xapi.launch.activityId || a.id, a.type, a.name);
  }

  function statement(verb, object, result, parent, extensions) {
    var v = VERBS[verb];
    var grouping = [activity(config.course.iri, config.course.type, config.course.title)];
    var context = {
      contextActivities: {
        grouping: grouping,
        category: [activity(config.profile, "http://adlnet.gov/expapi/activities/profile", "Profilo xAPI dei contenuti FSE 2.0")]
      },
      language: "it-IT",
      extensions: contextExtensions(extensions)
    };
    if (parent) { context.contextActivities.parent = parent; }
    if (xapi.launch.registration) { context.registration = xapi.launch.registration; }
    var s = {
      id: uuid(),
      actor: xapi.launch.actor,
      verb: { id: v[0], display: { "it-IT": v[1], "en-US": v[2] } },
      object: object,
      context: context,
      timestamp: new Date().toISOString()
    };
    if (result) { s.result = result; }
    return s;
  }

  function contextExtensions(extra) {
    var ext = {}, names = config.extensions;
    if (config.module) {
      ext[names.module] = config.module.code;
      ext[names.objective] = config.module.objective;
      if (state.level) { ext[names.level] = state.level; }
    }
    if (extra) { for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { ext[names[k] || k] = extra[k]; } } }
    return ext;
  }

  // The SCO's place in the course: a level's parent is its module; a module with all its levels
  // names the level it shows as an "other" context activity.
  function scoParents() {
    if (!config.module) { return null; }
    var m = config.module;
    if (Object.keys(config.levels).length === 1) { return [activity(m.iri, m.type, m.title)]; }
    return null;
  }

  function emit(verb, result, extensions) {
    if (!xapi.launch) { return; }
    var s = statement(verb, scoActivity(), result, scoParents(), extensions);
    if (config.module && Object.keys(config.levels).length > 1 && state.level) {
      var lv = config.levels[state.level];
      s.context.contextActivities.other = [activity(lv.id, "http://adlnet.gov/expapi/activities/lesson", lv.title)];
    }
    xapi.send(s);
  }

  function emitAnswer(object, response, success, extensions) {
    if (!xapi.launch) { return; }
    var result = { response: response };
    if (success !== null && success !== undefined) { result.success = success; }
    xapi.send(statement("answered", object, result, [scoActivity()], extensions));
  }

  // ---------------------------------------------------------------- learner state
  var state = { level: null, page: 0, visited: {}, checks: {}, answers: {}, done: false, score: null };
  var SUSPEND_LIMIT = 4096;

  function suspendData() {
    var data = { v: 1, l: state.level, p: state.page, s: Object.keys(state.visited).map(Number), c: state.checks };
    if (config.questions) { data.r = state.answers; data.d = state.done ? 1 : 0; data.x = state.score; }
    var json = JSON.stringify(data);
    if (json.length > SUSPEND_LIMIT) { delete data.c; json = JSON.stringify(data); }
    return json;
  }

  function restore(data) {
    if (!data || data.v !== 1) { return; }
    if (data.l && config.levels && config.levels[data.l]) { state.level = data.l; }
    if (typeof data.p === "number") { state.page = data.p; }
    (data.s || []).forEach(function (p) { state.visited[p] = true; });
    state.checks = data.c || {};
    state.answers = data.r || {};
    state.done = !!data.d;
    state.score = typeof data.x === "number" ? data.x : null;
  }

  function save(commit) {
    if (lms.active) {
      lms.set("cmi.core.lesson_location", String(state.page));
      lms.set("cmi.suspend_data", suspendData());
      if (commit) { lms.commit(); }
    }
  }

  // Without an LMS the resume data go to an xAPI State document, written when the page is hidden
  // or closed (not at every page: concurrent writes could land out of order), never twice alike.
  var savedResume = null;
  function saveResume() {
    if (lms.active || !xapi.launch) { return; }
    var json = suspendData();
    if (json === savedResume) { return; }
    savedResume = json;
    xapi.putState(resumeActivity(), config.resumeStateId, xapi.launch.registration, JSON.parse(json));
  }

  function resumeActivity() { return xapi.launch && xapi.launch.activityId || config.activity.id; }

  // ---------------------------------------------------------------- pages
  var pages = [];
  var finished = false;
  var levelRoot = null;
  var controls = $(".comandi");
  var announcer = $(".annuncio");

  function notice(message, informative) {
    var box = $(".avviso");
    box.textContent = message;
    box.className = "avviso" + (informative ? " informa" : "");
    box.setAttribute("role", informative ? "status" : "alert");
    box.hidden = false;
  }

  function showPage(index, focus) {
    index = Math.max(0, Math.min(index, pages.length - 1));
    state.page = index;
    var firstVisit = !state.visited[index];
    state.visited[index] = true;
    pages.forEach(function (page, i) { page.hidden = i !== index; });
    $all(".indice a", levelRoot).forEach(function (a, i) {
      if (i === index) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    });
    var back = $(".indietro", controls), next = $(".avanti", controls);
    back.disabled = index === 0;
    var last = index === pages.length - 1;
    next.textContent = last ? (config.kind === "module" ? "Termina il modulo" : "Chiudi") : "Avanti \u2192";
    next.disabled = last && config.kind !== "module" && !state.done;
    var label = "Pagina " + (index + 1) + " di " + pages.length;
    $(".numero-pagina", controls).textContent = label;
    $(".barra span", controls).style.width = Math.round(100 * (index + 1) / pages.length) + "%";
    announcer.textContent = label + ": " + text($("h2", pages[index]));
    if (focus) {
      var heading = $("h2", pages[index]);
      heading.focus();
      if (heading.scrollIntoView) { heading.scrollIntoView({ block: "start" }); }
    }
    onPageShown(index, firstVisit);
  }

  // A module progresses when the learner opens a page for the first time (going back is not
  // progress), and is completed when every page has been opened.
  function onPageShown(index, firstVisit) {
    if (config.kind === "module") {
      var unseen = pages.map(function (_p, i) { return i; }).filter(function (i) { return !state.visited[i]; });
      if (firstVisit) {
        emit("progressed", { extensions: progressExtension(Math.round(100 * (pages.length - unseen.length) / pages.length)) },
          { page: index + 1 });
      }
      if (!unseen.length) { completeModule(); }
      else if (index === pages.length - 1 && !state.done) {
        notice("Per completare il modulo apri anche " + (unseen.length === 1 ? "la pagina " : "le pagine ") +
          unseen.map(function (i) { return i + 1; }).join(", ") + " (dall'indice o con «Indietro»).", true);
      }
    }
    save(true);
  }

  function progressExtension(progress) {
    var ext = {};
    ext[config.extensions.progress] = progress;
    return ext;
  }

  function go(delta) {
    var next = state.page + delta;
    if (next >= pages.length) { finish(true); return; }
    if (next < 0) { return; }
    showPage(next, true);
  }

  function bindNavigation() {
    controls.hidden = false;
    controls.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      go(button.getAttribute("data-azione") === "avanti" ? 1 : -1);
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      var tag = event.target && event.target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
      // The arrows turn pages; ending the activity takes the button, never a stray key press.
      if (event.key === "ArrowRight") { event.preventDefault(); if (state.page < pages.length - 1) { go(1); } }
      if (event.key === "ArrowLeft") { event.preventDefault(); go(-1); }
    });
    var toc = $(".indice", levelRoot);
    if (toc) {
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "secondario pulsanti-indice";
      toggle.textContent = "Indice";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", toc.id || (toc.id = "indice-" + (levelRoot.id || "prova")));
      toc.parentNode.insertBefore(toggle, toc);
      toggle.addEventListener("click", function () {
        var open = toc.classList.toggle("aperto");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
      $all("a", toc).forEach(function (a, i) {
        a.addEventListener("click", function (event) {
          event.preventDefault();
          toc.classList.remove("aperto");
          toggle.setAttribute("aria-expanded", "false");
          showPage(i, true);
        });
      });
    }
  }

  // ---------------------------------------------------------------- module
  function completeModule() {
    if (state.done) { return; }
    state.done = true;
    lms.set("cmi.core.lesson_status", "completed");
    emit("completed", { completion: true, duration: isoDuration(elapsedSeconds()) });
  }

  function selfCheckObject(form) {
    var level = config.levels[state.level];
    var choices = $all("input[type=radio]", form).map(function (input) {
      return { id: input.value, description: langMap(text(input.parentNode)) };
    });
    return activity(level.id + "/autoverifica/" + form.getAttribute("data-name"),
      "http://adlnet.gov/expapi/activities/cmi.interaction", "Autoverifica " + form.getAttribute("data-name"), {
        description: langMap(text($("legend", form))),
        interactionType: "choice",
        choices: choices,
        correctResponsesPattern: [form.getAttribute("data-correct")]
      });
  }

  function showSelfCheck(form, value) {
    var correct = form.getAttribute("data-correct");
    var feedback = $(".esito", form);
    var ok = value === correct;
    var right = $("input[value='" + correct + "']", form);
    feedback.textContent = ok ? "Risposta corretta." :
      "Risposta non corretta. La risposta giusta è: " + text(right.parentNode);
    feedback.className = "esito " + (ok ? "giusto" : "sbagliato");
    $(".spiegazione", form).hidden = false;
    return ok;
  }

  function bindSelfChecks() {
    $all("form.autoverifica", levelRoot).forEach(function (form) {
      var name = form.getAttribute("data-name");
      if (state.checks[name]) {
        var input = $("input[value='" + state.checks[name] + "']", form);
        if (input) { input.checked = true; }
        showSelfCheck(form, state.checks[name]);
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var chosen = $("input[type=radio]:checked", form);
        if (!chosen) {
          var feedback = $(".esito", form);
          feedback.textContent = "Scegli una risposta, poi premi «Verifica la risposta».";
          feedback.className = "esito";
          return;
        }
        var ok = showSelfCheck(form, chosen.value);
        state.checks[name] = chosen.value;
        interaction(config.levels[state.level].id.split("/").slice(-2).join("-") + "-" + name, "choice",
          chosen.value, ok ? "correct" : "wrong", form.getAttribute("data-correct"));
        emitAnswer(selfCheckObject(form), chosen.value, ok);
        save(true);
      });
    });
  }

  // ---------------------------------------------------------------- SCORM interactions
  var interactionBase = null;
  function interaction(id, type, response, result, pattern) {
    if (!lms.active) { return; }
    if (interactionBase === null) { interactionBase = parseInt(lms.get("cmi.interactions._count"), 10) || 0; }
    var n = "cmi.interactions." + interactionBase + ".";
    interactionBase += 1;
    lms.set(n + "id", id.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 255));
    lms.set(n + "type", type);
    if (pattern) { lms.set(n + "correct_responses.0.pattern", pattern); }
    lms.set(n + "student_response", String(response).slice(0, 255));
    if (result) { lms.set(n + "result", result); }
  }

  function objectiveScore(code, raw) {
    if (!lms.active) { return; }
    var count = parseInt(lms.get("cmi.objectives._count"), 10) || 0, index = count;
    for (var i = 0; i < count; i++) { if (lms.get("cmi.objectives." + i + ".id") === code) { index = i; break; } }
    var n = "cmi.objectives." + index + ".";
    lms.set(n + "id", code);
    lms.set(n + "score.min", "0");
    lms.set(n + "score.max", "100");
    lms.set(n + "score.raw", String(raw));
    lms.set(n + "status", "completed");
  }

  // ---------------------------------------------------------------- quizzes
  function masteryScore() {
    var fromLms = parseFloat(lms.get("cmi.student_data.mastery_score"));
    if (!isNaN(fromLms)) { return fromLms; }
    return typeof config.masteryScore === "number" ? config.masteryScore : null;
  }

  function answerOf(question) {
    var form = $("form.prova");
    if (question.type === "fill-in") {
      var area = form.querySelector("textarea[name='" + question.id + "']");
      return area && area.value.trim() ? area.value.trim() : null;
    }
    var chosen = form.querySelector("input[name='" + question.id + "']:checked");
    return chosen ? chosen.value : null;
  }

  function questionObject(question) {
    var extra = { description: langMap(question.text), interactionType: question.type };
    if (question.type === "choice" && question.choices) {
      extra.choices = question.choices.map(function (c) { return { id: c.id, description: langMap(c.text) }; });
      if (question.key) { extra.correctResponsesPattern = [question.key]; }
    }
    if (question.type === "likert") {
      extra.scale = ["1", "2", "3", "4", "5"].map(function (v) { return { id: v, description: langMap(v) }; });
    }
    return activity(question.iri, "http://adlnet.gov/expapi/activities/cmi.interaction", question.id, extra);
  }

  function restoreAnswers() {
    var form = $("form.prova");
    Object.keys(state.answers).forEach(function (id) {
      var value = state.answers[id];
      var area = form.querySelector("textarea[name='" + id + "']");
      if (area) { area.value = value; return; }
      var input = form.querySelector("input[name='" + id + "'][value='" + value + "']");
      if (input) { input.checked = true; }
    });
  }

  function bindQuiz() {
    var form = $("form.prova");
    restoreAnswers();
    form.addEventListener("change", function () {
      if (state.done) { return; }
      config.questions.forEach(function (q) {
        var value = answerOf(q);
        if (value !== null) { state.answers[q.id] = value; } else { delete state.answers[q.id]; }
      });
      save(false);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.done) { return; }
      var missing = config.questions.filter(function (q) { return !q.optional && answerOf(q) === null; });
      var box = $(".mancanti", form);
      if (missing.length) {
        box.innerHTML = "";
        box.appendChild(document.createTextNode("Mancano le risposte a " + (missing.length === 1 ? "una domanda: " : missing.length + " domande: ")));
        missing.forEach(function (q, i) {
          var link = document.createElement("a");
          link.href = "#" + q.id;
          link.textContent = "domanda " + (config.questions.indexOf(q) + 1);
          link.addEventListener("click", function (e) {
            e.preventDefault();
            var page = pages.indexOf(document.getElementById(q.id).closest(".pagina"));
            showPage(page, false);
            var first = document.querySelector("#" + q.id + " input, #" + q.id + " textarea");
            if (first) { first.focus(); }
          });
          if (i) { box.appendChild(document.createTextNode(", ")); }
          box.appendChild(link);
        });
        box.hidden = false;
        box.setAttribute("tabindex", "-1");
        box.focus();
        return;
      }
      box.hidden = true;
      submitQuiz();
    });
  }

  function submitQuiz() {
    var scored = config.kind !== "questionnaire";
    var right = 0, perGroup = {};
    config.questions.forEach(function (q) {
      var value = answerOf(q);
      state.answers[q.id] = value === null ? "" : value;
      var ok = null;
      if (scored) {
        ok = value === q.key;
        if (ok) { right += 1; }
        var group = q.objective || ("modulo-" + q.module);
        perGroup[group] = perGroup[group] || { right: 0, total: 0 };
        perGroup[group].total += 1;
        if (ok) { perGroup[group].right += 1; }
      }
      interaction(q.id, q.type, value === null ? "" : value, scored ? (ok ? "correct" : "wrong") : "neutral",
        scored && config.showAnswers ? q.key : null);
      if (value !== null) { emitAnswer(questionObject(q), value, ok); }
    });
    state.done = true;
    var duration = isoDuration(elapsedSeconds());
    if (!scored) {
      lms.set("cmi.core.lesson_status", "completed");
      emit("completed", { completion: true, duration: duration });
      showResult(null, null, null);
    } else {
      var raw = Math.round(100 * right / config.questions.length);
      state.score = raw;
      var mastery = masteryScore();
      var passed = mastery === null ? null : raw >= mastery;
      lms.set("cmi.core.score.min", "0");
      lms.set("cmi.core.score.max", "100");
      lms.set("cmi.core.score.raw", String(raw));
      var scores = {};
      if (config.kind === "assessment") {
        config.objectives.forEach(function (o) {
          var g = perGroup[o.code] || { right: 0, total: 0 };
          scores[o.code] = g.total ? Math.round(100 * g.right / g.total) : 0;
          objectiveScore(o.code, scores[o.code]);
        });
      }
      lms.set("cmi.core.lesson_status", passed === null ? "completed" : (passed ? "passed" : "failed"));
      var score = { raw: raw, min: 0, max: 100, scaled: raw / 100 };
      var result = { completion: true, score: score, duration: duration };
      if (config.kind === "assessment") {
        result.extensions = {};
        result.extensions[config.extensions["objective-scores"]] = scores;
      }
      emit("completed", result);
      if (passed !== null) {
        emit(passed ? "passed" : "failed", { completion: true, success: passed, score: score, duration: duration });
      }
      showResult(raw, mastery, scores, perGroup);
    }
    $all("input, textarea, button.invia", $("form.prova")).forEach(function (el) { el.disabled = true; });
    save(true);
    showPage(pages.length - 1, false);
  }

  function showResult(raw, mastery, scores, perGroup) {
    var box = $(".risultato");
    box.innerHTML = "";
    box.setAttribute("role", "status");
    function para(content, strong) {
      var p = document.createElement("p");
      if (strong) { var b = document.createElement("strong"); b.textContent = content; p.appendChild(b); } else { p.textContent = content; }
      box.appendChild(p);
    }
    if (config.kind === "questionnaire") {
      para("Grazie: il questionario è stato inviato.", true);
    } else if (raw !== null && raw !== undefined) {
      para("Hai risposto correttamente al " + raw + "% delle domande.", true);
      if (config.kind === "final-test") {
        if (raw >= mastery) {
          para("Test superato: la soglia è il " + mastery + "%.");
        } else {
          para("Test non superato: la soglia è il " + mastery + "%. Puoi ripeterlo avviando un nuovo tentativo " +
            "(al massimo " + (config.maxAttempts || 5) + " tentativi in tutto).");
        }
      }
      if (config.kind === "assessment" && scores) {
        var table = document.createElement("table");
        var caption = document.createElement("caption");
        caption.textContent = "Risultato per obiettivo formativo";
        table.appendChild(caption);
        config.objectives.forEach(function (o) {
          var row = table.insertRow();
          var th = document.createElement("th");
          th.scope = "row";
          th.textContent = o.title;
          row.appendChild(th);
          row.insertCell().textContent = scores[o.code] + "%";
        });
        box.appendChild(table);
        para("La piattaforma assegnerà a ciascun modulo il livello adatto alle tue risposte.");
      }
    }
    if (config.showAnswers) { revealAnswers(); }
    box.hidden = false;
    box.focus();
  }

  function revealAnswers() {
    config.questions.forEach(function (q) {
      var fieldset = document.getElementById(q.id);
      var feedback = $(".esito", fieldset);
      var ok = state.answers[q.id] === q.key;
      var right = $("input[value='" + q.key + "']", fieldset);
      if (feedback) {
        feedback.textContent = ok ? "Risposta corretta." : "Risposta non corretta. Quella giusta è: " + text(right.parentNode);
        feedback.className = "esito " + (ok ? "giusto" : "sbagliato");
      }
      var explanation = $(".spiegazione", fieldset);
      if (explanation) { explanation.hidden = false; }
    });
  }

  // ---------------------------------------------------------------- start and finish
  function finish(byLearner) {
    if (finished) { return; }
    finished = true;
    var seconds = elapsedSeconds();
    if (lms.active) {
      lms.set("cmi.core.session_time", scormTime(seconds));
      var status = lms.get("cmi.core.lesson_status");
      lms.set("cmi.core.exit", status === "incomplete" || status === "browsed" || status === "not attempted" ? "suspend" : "");
      lms.set("cmi.core.lesson_location", String(state.page));
      lms.set("cmi.suspend_data", suspendData());
      lms.commit();
      lms.finish();
    }
    saveResume();
    emit("terminated", { duration: isoDuration(seconds) });
    xapi.flush(true);
    if (byLearner) {
      // The closing message goes where the learner is looking: at the end of the current page.
      var closing = document.createElement("p");
      closing.className = "avviso informa chiusura";
      closing.setAttribute("role", "status");
      closing.setAttribute("tabindex", "-1");
      closing.textContent = config.kind === "module" ?
        "Hai concluso il modulo. Puoi chiudere questa finestra o tornare alla piattaforma." :
        "Attività chiusa. Puoi tornare alla piattaforma.";
      pages[state.page].appendChild(closing);
      controls.hidden = true;
      closing.focus();
    }
  }

  function chooseLevel(levelsDoc) {
    var available = Object.keys(config.levels);
    var assigned = null;
    if (levelsDoc) {
      var m = config.module;
      if (levelsDoc.levels && levelsDoc.levels[m.code]) { assigned = levelsDoc.levels[m.code]; }
      else if (levelsDoc.modules && levelsDoc.modules[m.iri]) { assigned = levelsDoc.modules[m.iri].level; }
      else if (levelsDoc[m.code]) { assigned = levelsDoc[m.code]; }
    }
    var requested = new URLSearchParams(window.location.search).get("livello");
    if (state.level && config.levels[state.level]) { return { level: state.level, assigned: assigned }; }
    if (assigned && config.levels[assigned]) { return { level: assigned, assigned: assigned }; }
    if (requested && config.levels[requested]) { return { level: requested, assigned: assigned }; }
    if (available.length === 1) { return { level: available[0], assigned: assigned }; }
    return { level: null, assigned: assigned };
  }

  function render(choice) {
    var roots = $all(".livello");
    if (config.kind === "module") {
      if (!choice.level) {
        roots.forEach(function (r) { r.hidden = true; });
        notice("Il livello di questo modulo non è ancora stato assegnato: completa prima la valutazione iniziale, " +
          "poi riapri il modulo.", false);
        return false;
      }
      state.level = choice.level;
      // Only the learner's level stays in the page: one h1, one set of pages and controls.
      roots.forEach(function (r) { if (r.getAttribute("data-livello") !== choice.level) { r.parentNode.removeChild(r); } });
      levelRoot = $(".livello[data-livello='" + choice.level + "']");
      if (choice.assigned && choice.assigned !== choice.level) {
        notice("Questo pacchetto presenta il livello " + choice.level + "; la valutazione iniziale ti ha assegnato il livello " +
          choice.assigned + ".", true);
      }
    } else {
      levelRoot = roots[0];
    }
    pages = $all(".pagina", levelRoot);
    bindNavigation();
    if (config.kind === "module") { bindSelfChecks(); } else { bindQuiz(); }
    if (state.done && config.questions) {
      $all("input, textarea, button.invia", $("form.prova")).forEach(function (el) { el.disabled = true; });
      if (config.kind !== "questionnaire") { showResult(state.score, masteryScore(), null); } else { showResult(null); }
    }
    return true;
  }

  function begin(levelsDoc, resumeDoc) {
    if (resumeDoc && !lms.active) { restore(resumeDoc); }
    var choice = config.kind === "module" ? chooseLevel(levelsDoc) : { level: null };
    if (config.kind === "module" && choice.level) { state.level = choice.level; }
    emit("initialized", null);
    if (!render(choice)) { return; }
    showPage(Math.min(state.page, pages.length - 1), false);
  }

  function start() {
    xapi.launch = launchParams();
    if (lms.start()) {
      lms.review = lms.get("cmi.core.lesson_mode") === "review";
      var status = lms.get("cmi.core.lesson_status");
      if (lms.get("cmi.suspend_data")) {
        try { restore(JSON.parse(lms.get("cmi.suspend_data"))); } catch (e) { /* start afresh */ }
      }
      var location = parseInt(lms.get("cmi.core.lesson_location"), 10);
      if (!isNaN(location)) { state.page = location; }
      if (status === "" || status === "not attempted") { lms.set("cmi.core.lesson_status", "incomplete"); }
      if (status === "completed" || status === "passed" || status === "failed") { state.done = true; }
    }
    var needsLevels = config.kind === "module" && xapi.launch && !state.level;
    var needsResume = !lms.active && xapi.launch;
    Promise.all([
      needsLevels ? xapi.getState(config.course.iri, config.levelsStateId, null) : Promise.resolve(null),
      needsResume ? xapi.getState(resumeActivity(), config.resumeStateId, xapi.launch.registration) : Promise.resolve(null)
    ]).then(function (docs) { begin(docs[0], docs[1]); });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { saveResume(); xapi.flush(true); }
  });
  window.addEventListener("pagehide", function () { finish(false); });
  window.addEventListener("beforeunload", function () { finish(false); });
  window.fsePlayer = { state: state, lms: lms, xapi: xapi, finish: finish, config: config };
  start();
}());
