/* The filing wizard: the server's Vietnamese messages for the browser's own checks (shown next
   to the field, not in a bubble), and the progress of an upload sent by htmx. */
(function () {
  "use strict";

  function message(el) {
    var v = el.validity, d = el.dataset || {};
    if (!v) return "";
    if (v.valueMissing) return d.msgRequired;
    if (v.typeMismatch) return d.msgFormat;
    if (v.badInput || v.stepMismatch) return d.msgType;
    if (v.patternMismatch) return d.msgPattern;
    if (v.tooShort) return d.msgMinlength;
    if (v.tooLong) return d.msgMaxlength;
    if (v.rangeUnderflow) return d.msgMin;
    if (v.rangeOverflow) return d.msgMax;
    return "";
  }

  function show(el, text) {
    var box = el.id && document.getElementById(el.id + "-error");
    if (!box) return false;
    box.textContent = text || "";
    box.hidden = !text;
    if (text) {
      el.setAttribute("aria-invalid", "true");
      var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (ids.indexOf(box.id) < 0) { ids.push(box.id); el.setAttribute("aria-describedby", ids.join(" ")); }
    } else {
      el.removeAttribute("aria-invalid");
    }
    return true;
  }

  var focused = false;
  document.addEventListener("invalid", function (event) {
    var el = event.target, text = message(el);
    if (!text || !show(el, text)) return; // the browser says it in its own words
    event.preventDefault();
    if (!focused) {
      // The first wrong field of the form in reading order, whatever order the events come in.
      focused = true;
      var first = el.form && el.form.querySelector("input:invalid, select:invalid, textarea:invalid");
      (first || el).focus();
      window.setTimeout(function () { focused = false; }, 0);
    }
  }, true);

  function recheck(event) {
    var el = event.target;
    if (el.getAttribute && el.getAttribute("aria-invalid") === "true" && el.validity && el.validity.valid) {
      show(el, "");
    }
  }
  document.addEventListener("input", recheck, true);
  document.addEventListener("change", recheck, true);

  function bar(event) {
    var form = event.target && event.target.closest ? event.target.closest("form") : null;
    return form ? form.querySelector("progress") : null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var progress = bar(event);
    if (progress) { progress.value = 0; progress.hidden = false; }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var progress = bar(event), detail = event.detail || {};
    if (progress && detail.lengthComputable && detail.total) {
      progress.hidden = false;
      progress.value = Math.round(detail.loaded / detail.total * 100);
    }
  });
})();
