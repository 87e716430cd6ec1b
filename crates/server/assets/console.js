// The console's one script of its own: a copy button beside a secret shown once. Every page
// works without it (the secret is plain, selectable text); loaded from the binary, no inline
// script (the CSP allows 'self' scripts only).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (el) {
    var target = document.getElementById(el.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    el.hidden = false;
    el.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim());
    });
  });
});
