"""Shipping: the ShippingCarrier port and choose_rate (carrier.py), the embedded LocalCarrier
(local_carrier.py, labels from label_pdf.py and code128.py), the Shippo adapter
(shippo_carrier.py) and tracking webhooks (tracking.py). Pure adapters: activities wrap these."""
