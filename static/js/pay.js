// The deposit page's card form (Stripe.js card element). The page never tells the ledger anything:
// whatever the card answers, the server then asks Stripe ("check" form).
(function () {
  const form = document.getElementById("pay-form");
  const missing = document.getElementById("stripe-missing");
  // Stripe.js failed to load (offline, blocked): say so; nothing is charged.
  if (!form || typeof Stripe === "undefined" || !form.dataset.key || !form.dataset.secret) {
    if (missing) missing.classList.remove("d-none");
    return;
  }
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const button = document.getElementById("pay-button");
  button.disabled = false;
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    const result = await stripe.confirmCardPayment(form.dataset.secret, { payment_method: { card: card } });
    if (result.error) {
      document.getElementById("card-errors").textContent = result.error.message || "The card was declined.";
      button.disabled = false;
    }
    document.getElementById("check-form").submit();
  });
})();
