# phenomap: `make run` runs the toy workflow and writes its HTML report, `make test` runs the test suite.
# Both create .venv on first use (pip upgraded, the CPU build of torch first, then the project).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= 2
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run report test bench lint dry-run clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --profile profiles/local --report results/report.html

report: $(STAMP)
	$(BIN)/snakemake --profile profiles/local --report results/report.html

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --dry-run --quiet rules

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)  # a few hours on 2 cores; each script also runs alone
	$(BIN)/python bench/gwas.py
	$(BIN)/python bench/gwas.py --lmm mice
	$(BIN)/python bench/gwas.py --lmm sim --samples 5000 --variants 100000 --chromosomes 10
	$(BIN)/python bench/mice.py --rerun
	$(BIN)/python bench/ld.py
	$(BIN)/python bench/shrinkage.py
	$(BIN)/python bench/shrinkage.py --panel humanlike
	$(BIN)/python bench/shrinkage_coverage.py
	$(BIN)/python bench/clustering.py
	$(BIN)/python bench/genes.py
	$(BIN)/python bench/genes_null.py
	$(BIN)/python bench/ld_matrices.py
	$(BIN)/python bench/gpatlas.py

# Snakemake's linter: any lint fails the target (every rule names its conda env, envs/phenomap.yaml).
lint: $(STAMP)
	@out=$$($(BIN)/snakemake --lint 2>&1); \
	if printf '%s\n' "$$out" | grep -q '^    \* '; then printf '%s\n' "$$out"; exit 1; fi; \
	echo "snakemake --lint: no lints"

clean:
	rm -rf results logs benchmarks .snakemake
