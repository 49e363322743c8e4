"""Second process of the example: reads the totals as JSON on stdin and
answers with the best region and the number of regions."""
import json
import sys


def main():
    totals = json.load(sys.stdin)
    best = max(totals, key=lambda region: float(totals[region]))
    print(json.dumps({"best": best, "regions": len(totals)}, sort_keys=True))


if __name__ == "__main__":
    main()
