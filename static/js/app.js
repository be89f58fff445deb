// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy needs no inline script.
(function () {
  // A form (or the button that submits it) with data-confirm asks before an irreversible move.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
  // "Go back" links return to the previous page when there is one, else follow their href.
  document.querySelectorAll("[data-history-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
})();
