"""The notebooks' claims, checked: each claim of diffusion_helpers/claims.py judged on the shipped
reference runs (and, with --run, on a full run recorded by tools/record_references.py), printed
with its verdict: holds, contradicted, within the noise, or not measured.

    python benchmarks/claims.py                        # the shipped reference runs
    python benchmarks/claims.py --run /tmp/refs        # also a fresh run: tools/record_references.py --out-dir /tmp/refs

Exits 1 when a claim is contradicted by the reference run, so a changed notebook cannot ship a
sentence its own numbers refute.
"""
import argparse
import sys

import diffusion_helpers as dh
from diffusion_helpers.claims import CLAIMS, judge
from diffusion_helpers.references import load_reference, reference_names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a folder of reference files written by tools/record_references.py --out-dir")
    args = parser.parse_args()
    shipped = {name: load_reference(name) for name in reference_names()}
    fresh = {name: load_reference(name, directory=args.run) for name in reference_names(args.run)} if args.run else {}
    contradicted = 0
    for notebook in sorted({claim.notebook for claim in CLAIMS}):
        reference = shipped.get(notebook)
        print(f"\n{notebook}: " + (reference.label if reference else "no shipped reference run"))
        if notebook in fresh:
            print(f"  fresh run: {fresh[notebook].label.removeprefix('reference: ')}")
        for claim in (claim for claim in CLAIMS if claim.notebook == notebook):
            verdict = judge(claim, reference.values if reference else None)
            contradicted += verdict == "contradicted"
            extra = f"; fresh run: {judge(claim, fresh[notebook].values)}" if notebook in fresh else ""
            print(f"  [{claim.section}] {claim.text}\n      reference: {verdict}{extra}")
    holds = sum(judge(claim, shipped[claim.notebook].values) == "holds" for claim in CLAIMS if claim.notebook in shipped)
    print(f"\n{len(CLAIMS)} claims; on the shipped reference runs {holds} hold, {contradicted} contradicted "
          f"(diffusion_helpers {dh.__version__})")
    sys.exit(1 if contradicted else 0)


if __name__ == "__main__":
    main()
