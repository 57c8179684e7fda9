// The ask page: POST the question, read the Server-Sent Events as they arrive (fetch + a stream reader, since
// EventSource cannot POST), show the model's words as they are written, the numbered sources, and in the end
// the checked answer (`done`), which replaces the streamed text. Never innerHTML with server text.
(function () {
  "use strict";
  var form = document.getElementById("ask-form");
  if (!form) { return; }
  var question = document.getElementById("question");
  var button = document.getElementById("ask-button");
  var box = document.getElementById("answer");
  var statusLine = document.getElementById("answer-status");
  var notice = document.getElementById("answer-notice");
  var textBox = document.getElementById("answer-text");
  var sourcesTitle = document.getElementById("sources-title");
  var sourcesList = document.getElementById("sources");
  var decoder = document.createElement("textarea");

  function decode(s) { decoder.innerHTML = s; return decoder.value; } // a textarea parses no elements

  function setNotice(text) {
    notice.hidden = !text;
    notice.textContent = text || "";
  }

  function showSources(sources) {
    sourcesList.textContent = "";
    sourcesTitle.hidden = sources.length === 0;
    sources.forEach(function (s) {
      var li = document.createElement("li");
      li.value = s.n;
      li.id = "source-" + s.n;
      var a = document.createElement(s.url ? "a" : "span");
      if (s.url) { a.href = s.url; a.rel = "noopener"; }
      a.textContent = s.title || s.url;
      li.appendChild(a);
      if (s.snippet) { // search highlight: escaped text with <mark> around matched words
        var p = document.createElement("p");
        p.className = "snippet";
        s.snippet.split(/(<\/?mark>)/).reduce(function (inMark, part) {
          if (part === "<mark>") { return true; }
          if (part === "</mark>") { return false; }
          var node = document.createElement(inMark ? "mark" : "span");
          node.textContent = decode(part);
          p.appendChild(node);
          return inMark;
        }, false);
        li.appendChild(p);
      }
      sourcesList.appendChild(li);
    });
  }

  function showText(text) { // the checked answer: [n] becomes a link to source n
    textBox.textContent = "";
    text.split(/(\[\d+\])/).forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      if (m && document.getElementById("source-" + m[1])) {
        var a = document.createElement("a");
        a.href = "#source-" + m[1];
        a.className = "cite";
        a.textContent = part;
        textBox.appendChild(a);
      } else {
        textBox.appendChild(document.createTextNode(part));
      }
    });
  }

  function handle(name, data) {
    if (name === "notice") { setNotice(data.message); }
    else if (name === "sources") { showSources(data.sources); statusLine.textContent = "Writing the answer…"; }
    else if (name === "token") { textBox.appendChild(document.createTextNode(data.text)); }
    else if (name === "done") {
      var answer = data.answer;
      showSources(answer.sources);
      showText(answer.text || "");
      setNotice(answer.notice);
      box.setAttribute("data-status", answer.status);
      statusLine.textContent = answer.status === "sources_only" ? "Sources only: no answer could be written."
        : answer.status === "not_found" ? "No answer found." : "Answered.";
    } else if (name === "error") {
      box.setAttribute("data-status", "error");
      statusLine.textContent = "";
      setNotice(data.error.message);
    }
  }

  function ask(event) {
    event.preventDefault();
    var q = question.value.trim();
    if (!q) { question.focus(); return; }
    button.disabled = true;
    box.hidden = false;
    box.removeAttribute("data-status");
    textBox.textContent = "";
    sourcesList.textContent = "";
    sourcesTitle.hidden = true;
    setNotice("");
    statusLine.textContent = "Searching…";
    fetch(form.getAttribute("data-stream-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream",
                "X-CSRF-Token": form.getAttribute("data-csrf")},
      body: JSON.stringify({question: q})
    }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().then(function (body) { handle("error", body); });
      }
      var reader = resp.body.getReader();
      var utf8 = new TextDecoder();
      var buffer = "";
      function read() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += utf8.decode(chunk.value, {stream: true});
          var end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            var block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            var name = "message", lines = [];
            block.split("\n").forEach(function (line) {
              if (line.indexOf("event: ") === 0) { name = line.slice(7); }
              else if (line.indexOf("data: ") === 0) { lines.push(line.slice(6)); }
            }); // lines starting with ":" are keep-alive comments
            if (lines.length) { handle(name, JSON.parse(lines.join("\n"))); }
          }
          return read();
        });
      }
      return read();
    }).catch(function () {
      handle("error", {error: {message: "The connection to Lore was lost. Try again."}});
    }).then(function () {
      button.disabled = false;
      if (!box.getAttribute("data-status")) { statusLine.textContent = ""; }
    });
  }

  form.addEventListener("submit", ask);
  question.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { ask(e); }
  });
})();
