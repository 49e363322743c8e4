"""Flask app for sgxpy's evaluation (docs/evaluation.md), served by gunicorn with
forked workers:

    /usr/bin/python3 /usr/bin/gunicorn -w 2 -b 127.0.0.1:PORT --chdir eval/webapp app:app

Routes (each one loads something different, so a tampered file fails only the
routes that load it):
    /            JSON from code only (no file)
    /hello/NAME  renders templates/hello.html (Jinja, re-checked on every request)
    /report      renders templates/report.html with rows from data/items.csv
    /items       JSON of data/items.csv (read from disk on every request)
    /config      JSON of data/config.json (read from disk on every request)
    /compute/N   pure CPU: sum of squares below N (N <= 100000)
Templates are re-read when their mtime changes (TEMPLATES_AUTO_RELOAD), data files
on every request, as a real app with editable content would.
"""
import csv
import json
import os

from flask import Flask, abort, jsonify, render_template

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

app = Flask(__name__)
app.config["TEMPLATES_AUTO_RELOAD"] = True


def load_items():
    with open(os.path.join(DATA, "items.csv"), newline="") as f:
        return [{"name": r["name"], "qty": int(r["qty"]), "price": float(r["price"])}
                for r in csv.DictReader(f)]


@app.route("/")
def index():
    return jsonify(app="sgxpy-eval", routes=["/hello/NAME", "/report", "/items",
                                         "/config", "/compute/N"])


@app.route("/hello/<name>")
def hello(name):
    return render_template("hello.html", name=name)


@app.route("/report")
def report():
    items = load_items()
    total = sum(i["qty"] * i["price"] for i in items)
    return render_template("report.html", items=items, total=total)


@app.route("/items")
def items():
    return jsonify(items=load_items())


@app.route("/config")
def config():
    with open(os.path.join(DATA, "config.json")) as f:
        return jsonify(json.load(f))


@app.route("/compute/<int:n>")
def compute(n):
    if n > 100000:
        abort(400)
    return jsonify(n=n, sum=sum(i * i for i in range(n)))
