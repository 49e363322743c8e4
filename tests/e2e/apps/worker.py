"""Worker script started by app.py as `python3 worker.py data.txt`."""
import json
import sys

import workerlib


def main():
    numbers = workerlib.read_numbers(sys.argv[1])
    print(json.dumps(workerlib.summary(numbers), sort_keys=True))


if __name__ == "__main__":
    main()
