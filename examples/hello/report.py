"""Aggregation helpers for app.py (a local module: sgxpy must trust it too)."""
from decimal import Decimal


def totals_by_region(rows):
    totals = {}
    for row in rows:
        amount = Decimal(row["amount"])
        totals[row["region"]] = totals.get(row["region"], Decimal(0)) + amount
    return {region: str(total) for region, total in sorted(totals.items())}


def grand_total(totals):
    return str(sum(Decimal(v) for v in totals.values()))
