// Backroom: confirmCardPayment as Stripe.js does it (backroom/payments/localstripe_js.py).
// localstripe's own version ignores the card and only answers the 3-D Secure dialog of a
// payment confirmed on the server. This one confirms the PaymentIntent from the browser with
// the publishable key, the client secret and the card element, then runs 3-D Secure in the page.
(function () {
  const makeStripe = Stripe;

  async function post(url, body) {
    const response = await fetch(url, {method: 'POST', body: JSON.stringify(body)});
    const json = await response.json().catch(() => ({}));
    return {ok: response.status === 200 && !json.error, json};
  }

  Stripe = (apiKey) => {
    const stripe = makeStripe(apiKey);
    stripe.confirmCardPayment = async (clientSecret, data) => {
      try {
        const pi = clientSecret.match(/^(pi_\w+)_secret_/)[1];
        const base = `${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}`;
        const body = {key: apiKey, client_secret: clientSecret};
        const method = data && data.payment_method;
        if (method && method.card instanceof Element) {
          const value = method.card.value || {card: {}};
          body.payment_method_data = {
            type: 'card',
            card: value.card,
            billing_details: method.billing_details || {},
          };
        } else if (typeof method === 'string') {
          body.payment_method = method;
        }
        let answer = await post(`${base}/confirm`, body);
        if (!answer.ok) {
          return {error: answer.json.error || {message: 'The payment could not be confirmed.'}};
        }
        if (answer.json.status === 'requires_action') {
          const success = await openModal(
            '3D Secure\nDo you want to confirm or cancel?',
            'Complete authentication', 'Fail authentication');
          answer = await post(`${base}/_authenticate?success=${success}`,
                              {key: apiKey, client_secret: clientSecret});
          if (!answer.ok) {
            return {error: answer.json.error || {message: 'The payment could not be confirmed.'}};
          }
          if (answer.json.status === 'requires_payment_method') {
            return {error: {
              type: 'card_error',
              code: 'payment_intent_authentication_failure',
              message: 'We are unable to authenticate your payment method. ' +
                       'Please choose a different payment method and try again.',
              payment_intent: answer.json,
            }};
          }
        }
        return {paymentIntent: answer.json};
      } catch (err) {
        return {error: {message: String(err)}};
      }
    };
    return stripe;
  };
})();
