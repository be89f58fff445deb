// Live progress of background solver runs: every element with data-progress-url is polled
// while its run is queued or running; the page reloads when the run finishes.
(function () {
  const live = new Set(["queued", "running"]);
  function render(el, data) {
    const p = data.progress || {};
    const bar = el.querySelector(".progress-bar");
    const label = el.querySelector("[data-progress-label]");
    const fraction = typeof p.fraction === "number" ? p.fraction : 0;
    if (bar) {
      bar.style.width = Math.round(fraction * 100) + "%";
      bar.setAttribute("aria-valuenow", Math.round(fraction * 100));
    }
    if (label) {
      if (data.status === "queued") {
        label.textContent = "Waiting for a worker…";
      } else if (p.phase) {
        // The phase, the best result against the solver's own proven bound, the gap, the time used.
        let text = `${p.phase_label ?? p.phase}: ${Number(p.quantity ?? 0).toLocaleString()} vehicles, proven at most ${Number(p.quantity_bound ?? 0).toLocaleString()}`;
        if (p.lots !== undefined) text += `, ${p.lots} lots`;
        if (p.price !== undefined) {
          text += ` · price ${Number(p.price).toLocaleString()}`;
          if (p.price_bound !== undefined) text += `, proven at least ${Number(p.price_bound).toLocaleString()}`;
        }
        if (p.gap_percent !== undefined) text += ` · gap ${p.gap_percent} %`;
        const limit = p.time_limit ? ` of at most ${p.time_limit} s` : " s";
        label.textContent = `${text} · ${Math.round(p.elapsed ?? 0)}${limit}`;
      } else {
        label.textContent = "Starting…";
      }
    }
  }
  function poll(el) {
    fetch(el.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((data) => {
        render(el, data);
        if (live.has(data.status)) setTimeout(() => poll(el), 1000);
        else window.location.reload();
      })
      .catch(() => setTimeout(() => poll(el), 3000));
  }
  document.querySelectorAll("[data-progress-url]").forEach((el) => {
    if (live.has(el.dataset.status)) poll(el);
  });
})();
