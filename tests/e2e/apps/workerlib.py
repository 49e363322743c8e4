"""Helper module imported by worker.py (a local import the tracer must see)."""


def read_numbers(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def summary(numbers):
    return {"count": len(numbers), "total": sum(numbers), "max": max(numbers)}
