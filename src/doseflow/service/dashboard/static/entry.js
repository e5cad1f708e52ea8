// doseflow data entry: check each value as it is typed, with the rules the server hands the
// page (the JSON in #entry-rules, made by doseflow.reporting.value_check.browser_rule), so
// the message beside a field is the one the import would give. Saving is refused here only
// while a field is flagged; the server checks everything again.
(function () {
  "use strict";
  var rulesNode = document.getElementById("entry-rules");
  var form = document.querySelector("form[data-entry-form]");
  if (!rulesNode || !form) { return; }
  var rules = JSON.parse(rulesNode.textContent);

  // str.strip(): trim exactly the characters Python treats as blanks.
  function strip(text) {
    var start = 0, end = text.length;
    while (start < end && rules.blanks.indexOf(text.charAt(start)) >= 0) { start += 1; }
    while (end > start && rules.blanks.indexOf(text.charAt(end - 1)) >= 0) { end -= 1; }
    return text.slice(start, end);
  }
  // Python's repr of a float: exponent outside 1e-4..1e16, at least two exponent digits.
  function pythonRepr(number) {
    if (number === 0) { return 1 / number < 0 ? "-0.0" : "0.0"; }
    var parts = number.toExponential().split("e");
    var exponent = Number(parts[1]);
    if (exponent < -4 || exponent >= 16) {
      var size = Math.abs(exponent);
      return parts[0] + "e" + (exponent < 0 ? "-" : "+") + (size < 10 ? "0" : "") + size;
    }
    var plain = String(number);
    return plain.indexOf(".") < 0 ? plain + ".0" : plain;
  }
  // doseflow.reporting.values.format_number
  function formatNumber(number) {
    if (Number.isInteger(number) && Math.abs(number) < 1e15) { return String(number); }
    return pythonRepr(number);
  }
  // doseflow.reporting.value_check.check_number for text: null when the value is good.
  function check(rule, raw) {
    var text = strip(raw);
    var number = NaN;
    if (text.length < rule.max_length && new RegExp(rule.pattern).test(text)) {
      number = Number(text);
    }
    if (!isFinite(number) || (rule.whole && !Number.isInteger(number)) ||
        (rule.type_low !== null && number < rule.type_low) ||
        (rule.type_high !== null && number > rule.type_high)) {
      return { code: "REPORT_BAD_VALUE", message: rule.type_message, expected: rule.type_expected };
    }
    if ((rule.low !== null && number < rule.low) || (rule.high !== null && number > rule.high)) {
      return {
        code: "REPORT_VALUE_OUT_OF_RANGE",
        message: rule.range_message.split("{value}").join(formatNumber(number)),
        expected: rule.range_expected
      };
    }
    return null;
  }
  function show(input) {
    var rule = rules.elements[input.getAttribute("data-element")];
    var note = document.getElementById(input.id + "-message");
    var blank = strip(input.value) === "";
    var problem = rule && !blank ? check(rule, input.value) : null;
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      note.textContent = problem.message;
      note.className = "entry-message entry-conflict";
    } else {
      input.removeAttribute("aria-invalid");
      note.textContent = "";
      note.className = "entry-message";
    }
    return problem;
  }
  var fields = form.querySelectorAll("input[data-element]");
  fields.forEach(function (input) {
    input.addEventListener("input", function () { show(input); });
  });
  form.addEventListener("submit", function (event) {
    var first = null, count = 0;
    fields.forEach(function (input) {
      if (show(input)) { count += 1; first = first || input; }
    });
    var status = document.getElementById("entry-check");
    if (first) {
      event.preventDefault();
      status.textContent = "Correct the " + count + " value" + (count === 1 ? "" : "s") +
        " marked before saving.";
      first.focus();
    } else {
      status.textContent = "";
    }
  });
  window.doseflowEntry = { check: check, formatNumber: formatNumber };
})();
