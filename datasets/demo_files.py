"""Synthetic files for the demo data node (`run_demo_node`): a README and a small VCF per dataset,
made up from the accession so they are the same on every machine. No real person is in them."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from datasets.models import DataNode, Dataset

_BASES = "ACGT"


def synthetic_vcf(accession: str, *, samples: int = 4, variants: int = 40) -> str:
    rng = random.Random(accession)  # noqa: S311 - made-up data, not security
    names = [f"{accession}_S{index + 1:02d}" for index in range(samples)]
    lines = [
        "##fileformat=VCFv4.3",
        f"##source=genome-access-portal demo node (synthetic data for {accession}; no real person)",
        "##reference=GRCh38",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names),
    ]
    position = rng.randint(10_000, 50_000)
    for _ in range(variants):
        position += rng.randint(50, 5000)
        ref = rng.choice(_BASES)
        alt = rng.choice([base for base in _BASES if base != ref])
        calls = "\t".join(rng.choice(["0/0", "0/1", "1/1"]) for _ in names)
        lines.append(f"chr22\t{position}\t.\t{ref}\t{alt}\t{rng.randint(30, 99)}\tPASS\t.\tGT\t{calls}")
    return "\n".join(lines) + "\n"


def write_demo_files(node: DataNode, root: Path) -> list[str]:
    """One folder per published dataset the node hosts, with README.txt, variants.vcf and
    manifest.json (sizes and SHA-256). Returns the accessions."""
    root.mkdir(parents=True, exist_ok=True)
    accessions = []
    for dataset in Dataset.objects.filter(nodes=node, status=Dataset.Status.PUBLISHED).order_by("accession"):
        folder = root / dataset.accession
        folder.mkdir(exist_ok=True)
        files = {
            "README.txt": (
                f"{dataset.accession}: {dataset.title}\n\nSynthetic demo files served by {node.name}.\n"
                "They stand in for the controlled-access data and describe no real person.\n"
            ),
            "variants.vcf": synthetic_vcf(dataset.accession),
        }
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        manifest = {
            name: {"size": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}
            for name, text in files.items()
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        accessions.append(dataset.accession)
    return accessions
