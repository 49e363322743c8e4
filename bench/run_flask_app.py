"""Flask app for bench/run_bench.sh: served by gunicorn with 2 forked workers."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def index():
    return jsonify(message="hello", items=list(range(10)))
