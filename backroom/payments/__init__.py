"""Payments: the PaymentGateway port (gateway.py), its Stripe adapter (stripe_gateway.py),
webhook verification (webhooks.py) and a loopback localstripe for tests and the demo
(localstripe_server.py). No database, routes or Temporal code here: activities wrap these."""
