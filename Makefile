# The two set-up commands are `make run` and `make test`; see README.md.
SHELL   := bash
GO      ?= go
APP     := build/app
AZURITE := tools/node_modules/.bin/azurite
BICEP   := tools/bicep/node_modules/tree-sitter-bicep/tree-sitter-bicep.wasm
PORT    ?= 7071

.PHONY: run sample test stage package functions bench clean tools vendor-web

## tools: install Azurite into tools/node_modules (pinned in tools/package.json)
tools: $(AZURITE)
$(AZURITE): tools/package.json
	cd tools && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

## bicep tools: the tree-sitter Bicep grammar (WebAssembly) that checks infra/ parses
$(BICEP): tools/bicep/package.json
	cd tools/bicep && (npm ci --no-audit --no-fund --ignore-scripts || npm install --no-audit --no-fund --ignore-scripts)
	touch $@

## functions: rewrite host.json and functions/*/function.json from the Go function table
functions:
	$(GO) run ./handler/cmd/funcgen -root . -dir functions -transport servicebus

## stage: build the handler and a local app root in build/app (Storage queue triggers for Azurite)
stage:
	rm -rf $(APP) && mkdir -p $(APP)
	CGO_ENABLED=0 $(GO) build -o $(APP)/handler ./handler
	$(GO) run ./handler/cmd/funcgen -root $(APP) -dir "" -transport storage
	if [ -f local.settings.json ]; then cp local.settings.json $(APP)/; else cp local.settings.example.json $(APP)/local.settings.json; fi
	$(GO) build -o build/funchost ./handler/cmd/funchost
	$(GO) build -o build/sample ./handler/cmd/sample

## run: Azurite (data in .azurite/), the local Functions host with the handler on http://127.0.0.1:$(PORT),
##      the dev sign-in, Graph and Postmark sandboxes; then sends the sample campaign of samples/ once
run: $(AZURITE) stage
	mkdir -p .azurite
	NODE_OPTIONS="--require $(CURDIR)/tools/azurite-lokijs-rowkey-first.js" \
	$(AZURITE) --silent --disableTelemetry --skipApiVersionCheck --loose --location .azurite \
	  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 & \
	azpid=$$!; trap 'kill $$azpid $$hostpid 2>/dev/null' EXIT; \
	for i in $$(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null && break; sleep 0.1; done; \
	echo "Azurite: blob :10000, queue :10001, table :10002 (data in .azurite/)"; \
	build/funchost -app $(APP) -addr 127.0.0.1:$(PORT) & hostpid=$$!; \
	for i in $$(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/$(PORT)) 2>/dev/null && break; sleep 0.1; done; \
	build/sample -host http://127.0.0.1:$(PORT) -settings $(APP)/local.settings.json -mail $(APP)/mail || echo "the sample campaign did not complete (see above)"; \
	echo "Still running; send the sample again with: make sample   (Ctrl-C stops everything)"; \
	wait $$hostpid

## sample: send the sample campaign of samples/ through a running `make run`
sample:
	$(GO) build -o build/sample ./handler/cmd/sample
	build/sample -host http://127.0.0.1:$(PORT) -settings $(APP)/local.settings.json -mail $(APP)/mail

## test: vet, then unit and integration tests on a private Azurite that this target starts and stops
# The end-to-end tests mostly wait (on pacing, on claim deadlines), each with
# its own functions host and storage account: -parallel runs them side by side.
test: $(AZURITE) $(BICEP)
	@unformatted=$$(gofmt -l handler); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	node tools/bicep/check.mjs infra
	tools/with-azurite.sh $(GO) test -count=1 -parallel 8 ./...

## vendor-web: fetch the web app's browser libraries from npm at their pinned
##      versions (tools/vendor-web.sh); TestVendoredFiles checks the files
vendor-web:
	tools/vendor-web.sh

## bench: benchmarks (cold start and idle memory of the handler, among others)
bench: $(AZURITE)
	tools/with-azurite.sh $(GO) test -run '^$$' -bench . -benchmem ./...

## package: linux/amd64 zip ready for deployment (host.json, function folders, handler), and with
## PUBLIC_BASE_URL and ENTRA_CLIENT_ID the Outlook add-in's manifest (build/manifest.xml)
package: functions
	rm -rf build/package && mkdir -p build/package
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o build/package/handler ./handler
	cp host.json build/package/ && cp -r functions/. build/package/
	$(GO) run ./handler/cmd/pack -dir build/package -out build/mailmerge.zip
	@echo "build/mailmerge.zip"
	@if [ -n "$(PUBLIC_BASE_URL)" ] && [ -n "$(ENTRA_CLIENT_ID)" ]; then \
	  $(GO) run ./handler/cmd/addin -base "$(PUBLIC_BASE_URL)" -client-id "$(ENTRA_CLIENT_ID)" -out build/manifest.xml; \
	else \
	  echo "The Outlook add-in's manifest: make package PUBLIC_BASE_URL=https://<host> ENTRA_CLIENT_ID=<application id> writes build/manifest.xml for side-loading; the app serves it at https://<host>/addin/manifest.xml"; \
	fi

clean:
	rm -rf build .azurite
