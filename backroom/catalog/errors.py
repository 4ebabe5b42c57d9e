from __future__ import annotations

from backroom.errors import Conflict, NotFound, Refused


class ProductNotFound(NotFound):
    code = "product_not_found"


class SkuTaken(Conflict):
    code, title = "sku_taken", "SKU already in use"


class ProductArchived(Refused):
    code, title = "product_archived", "Product is archived"


class OutOfStock(Conflict):
    code, title = "out_of_stock", "Not enough stock"


class StockBelowReserved(Conflict):
    code, title = "stock_below_reserved", "Stock would fall below the reserved units"
