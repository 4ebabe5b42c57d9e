// The storefront's card form (api/templates/shop/order.html): Stripe.js confirms the order's
// PaymentIntent in the page, 3-D Secure included, so the card number never reaches Backroom.
// When Stripe says yes, the hidden form tells the server, which asks Stripe before believing it.
(function () {
  const box = document.getElementById('pay');
  if (!box) {
    return;
  }
  if (box.dataset.state !== 'enter_card') {
    // The payment is being opened or confirmed by the order's workflow: look again shortly.
    setTimeout(() => window.location.reload(), 700);
    return;
  }
  const stripe = Stripe(box.dataset.key);
  const card = stripe.elements().create('card');
  card.mount('#card-element');
  const button = document.getElementById('pay-button');
  const errors = document.getElementById('card-errors');
  button.addEventListener('click', async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = '';
    const result = await stripe.confirmCardPayment(box.dataset.secret, {payment_method: {card}});
    if (result.error) {
      errors.textContent = (result.error.message || 'Your card was not accepted.') +
        ' Try another card.';
      button.disabled = false;
      return;
    }
    document.getElementById('paid-form').submit();
  });
})();
