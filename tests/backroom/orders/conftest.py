from tests.commerce_support import commerce_settings, localstripe  # noqa: F401  (fixtures)
