# roomguard — make run: a simulated room; make test: every test.
# Both install what they need on a fresh Debian machine.

GO      ?= go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin
RUNDIR  := run
LIFE_SPEED ?= 1   # make run LIFE_SPEED=10: the simulated day ten times faster
APT     := DEBIAN_FRONTEND=noninteractive apt-get
# Tools fetched rather than installed, kept across clones.
TOOLS    := $(HOME)/.cache/roomguard/bin
PROMTOOL := $(TOOLS)/promtool

.PHONY: all build run building test test-short bench fuzz deps tools browser avr firmware lint clean dist deb cross

all: build

# Debian packages the tests need: Mosquitto is the reference external broker.
tools:
	@command -v mosquitto >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 || \
	  { echo "installing mosquitto"; $(APT) update -qq && $(APT) install -y -qq mosquitto mosquitto-clients >/dev/null; }
	@command -v gcc >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq gcc libc6-dev >/dev/null; }
	@command -v systemd-analyze >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 && command -v adduser >/dev/null 2>&1 || \
	  { echo "installing systemd-analyze and adduser (the packages' tests)"; $(APT) update -qq && $(APT) install -y -qq systemd adduser >/dev/null; }
	@command -v promtool >/dev/null 2>&1 || test -x $(PROMTOOL) || \
	  { echo "fetching promtool (Debian's prometheus package, unpacked into $(TOOLS), not installed: no server started)"; \
	    set -e; d=$$(mktemp -d); cd $$d; $(APT) update -qq; $(APT) download -qq prometheus >/dev/null 2>&1; \
	    dpkg-deb -x prometheus_*.deb x; mkdir -p $(TOOLS); cp x/usr/bin/promtool $(PROMTOOL); rm -rf $$d; }

# Debian's cross compilers and qemu-user: the Pi builds (cgo: SQLite is C)
# and the test that runs the arm64 gateway.
cross:
	@command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v arm-linux-gnueabihf-gcc >/dev/null 2>&1 && \
	  command -v qemu-aarch64-static >/dev/null 2>&1 || \
	  { echo "installing the arm64 and armhf cross compilers and qemu-user"; $(APT) update -qq && \
	    $(APT) install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user-static >/dev/null; }

# The Pi builds: both binaries for linux/arm64 and linux/arm (GOARM=7), and
# amd64 for a guard station, with cgo, -trimpath, stripped, the version from
# git; in dist/<goarch>/. They need glibc 2.34 (Debian 12 bookworm, and the
# Raspberry Pi OS built on it, or newer).
DIST := dist
dist: cross deps
	@set -e; for t in arm64:aarch64-linux-gnu-gcc: arm:arm-linux-gnueabihf-gcc:7 amd64:gcc:; do \
	  arch=$${t%%:*}; rest=$${t#*:}; cc=$${rest%%:*}; arm=$${rest#*:}; \
	  mkdir -p $(DIST)/$$arch; \
	  for c in gateway dashboard; do \
	    echo "building roomguard-$$c for linux/$$arch"; \
	    CGO_ENABLED=1 CC=$$cc GOOS=linux GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -buildvcs=true \
	      -ldflags "-s -w $(LDFLAGS)" -o $(DIST)/$$arch/roomguard-$$c ./$$c/cmd/roomguard-$$c; \
	  done; \
	done

# The Debian packages (nfpm, pinned in go.mod's tool block): both binaries
# for arm64, armhf and amd64, in dist/.
# A Debian version starts with a digit: a tag v1.2.3 gives 1.2.3 (1.2.3~4~gabc
# after it); with no tag, 0.0~git<date>.<commit>.
DEB_VERSION := $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/~/g'); \
  echo $${v:-0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null).$$(git rev-parse --short HEAD 2>/dev/null)})
deb: dist firmware
	@set -e; for t in arm64:arm64 arm:armhf amd64:amd64; do \
	  arch=$${t%%:*}; deb=$${t#*:}; \
	  cp $(BIN)/roomguard-board.hex $(DIST)/$$arch/; \
	  for c in gateway dashboard; do \
	    $(GO) run ./$$c/cmd/roomguard-$$c man | gzip -9n > $(DIST)/$$arch/roomguard-$$c.1.gz; \
	    sed "s|\$${DIST}|$(DIST)/$$arch|g" $$c/dist/nfpm.yaml > $(DIST)/nfpm-$$c-$$arch.yaml; \
	    DEB_ARCH=$$deb DEB_VERSION=$(DEB_VERSION) $(GO) tool nfpm pkg --packager deb --config $(DIST)/nfpm-$$c-$$arch.yaml --target $(DIST)/; \
	  done; \
	done
# Debian's Chromium, for the dashboard's browser tests and its PDFs; a CJK
# font for the Chinese in them; pdftotext to read the PDFs back.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || \
	  { echo "installing chromium, poppler-utils and fonts-wqy-microhei"; $(APT) update -qq && \
	    $(APT) install -y -qq chromium poppler-utils fonts-wqy-microhei >/dev/null; }

# The board's toolchain and emulator: avr-gcc and avr-libc build the
# firmware; simavr (with libelf) runs it in the tests and the simulated room.
avr:
	@command -v avr-gcc >/dev/null 2>&1 && [ -f /usr/lib/avr/include/avr/io.h ] && [ -f /usr/include/simavr/sim_avr.h ] && \
	  [ -f /usr/include/libelf.h ] && command -v pkg-config >/dev/null 2>&1 || \
	  { echo "installing the AVR toolchain and simavr"; $(APT) update -qq && \
	    $(APT) install -y -qq gcc-avr avr-libc binutils-avr simavr libsimavr-dev libelf-dev pkg-config >/dev/null; }

# The board firmware (ELF for the emulator, HEX to flash) and its emulator
# harness, in bin/.
FW_SRC := firmware-bridge/firmware/main.c firmware-bridge/firmware/board.c firmware-bridge/firmware/proto.c
firmware: avr
	@mkdir -p $(BIN)
	avr-gcc -mmcu=atmega328p -DF_CPU=16000000UL -DSIMAVR -I/usr/include/simavr/avr -std=gnu99 -Os -Wall -Wextra -Werror \
	  -ffunction-sections -fdata-sections -Wl,--gc-sections -Wl,--undefined=_mmcu,--section-start=.mmcu=0x910000 \
	  -o $(BIN)/roomguard-board.elf $(FW_SRC)
	avr-objcopy -O ihex -R .mmcu -R .eeprom $(BIN)/roomguard-board.elf $(BIN)/roomguard-board.hex
	avr-size $(BIN)/roomguard-board.elf
	cc -std=gnu99 -O2 -Wall -Werror -o $(BIN)/roomguard-board-sim firmware-bridge/simavr/rgsim.c \
	  $$(pkg-config --cflags simavr) -lsimavr -lsimavrparts -lelf -lpthread -lutil

deps:
	$(GO) mod download

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/roomguard-gateway ./gateway/cmd/roomguard-gateway
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/roomguard-dashboard ./dashboard/cmd/roomguard-dashboard

# The simulated room of examples/room.yaml (its gateway and embedded broker on
# 127.0.0.1:1883, log in run/gateway.log) and the guard console on
# http://127.0.0.1:8080/ (it prints how to create the first account), and
# the room of examples/room-board.yaml, whose board runs the real firmware in
# simavr (log in run/gateway-302.log). Drive the rooms from another
# terminal, e.g.:
#   mosquitto_pub -t roomguard/jiyao-301/sim/input/door-main -m open
#   mosquitto_pub -t roomguard/jiyao-302/sim/input/window-north -m tamper-cut
run: build tools firmware
	@mkdir -p $(RUNDIR)
	@# The console is enrolled in both rooms as an installer would
	@# (docs/commands.md): its principal, printed by keys, in each config.
	@$(BIN)/roomguard-dashboard keys --db $(RUNDIR)/dashboard.db > $(RUNDIR)/console.principal
	@for r in room room-board; do { cat examples/$$r.yaml; echo "principals:"; cat $(RUNDIR)/console.principal; } > $(RUNDIR)/$$r.yaml; done
	@# The console shows only the rooms added to it, each with its key's
	@# fingerprint read from the room (roomguard-gateway keys), so their keys
	@# are confirmed at first contact (docs/console.md).
	@for r in room:jiyao-301 room-board:jiyao-302; do 	  fp=$$($(BIN)/roomguard-gateway keys --config $(RUNDIR)/$${r%%:*}.yaml --db $(RUNDIR)/$${r#*:}.db | sed -n 's/^room-fingerprint //p'); 	  $(BIN)/roomguard-dashboard room add --db $(RUNDIR)/dashboard.db --fingerprint "$$fp" $${r#*:} >/dev/null; 	done
	@$(BIN)/roomguard-gateway run --sim --config $(RUNDIR)/room.yaml --db $(RUNDIR)/jiyao-301.db > $(RUNDIR)/gateway.log 2>&1 & gw=$$!; \
	  $(BIN)/roomguard-gateway run --sim --board-firmware $(BIN) --http 127.0.0.1:9481 --config $(RUNDIR)/room-board.yaml --db $(RUNDIR)/jiyao-302.db > $(RUNDIR)/gateway-302.log 2>&1 & gw2=$$!; \
	  $(BIN)/roomguard-gateway life --config $(RUNDIR)/room.yaml --db $(RUNDIR)/jiyao-301.db --speed $(LIFE_SPEED) > $(RUNDIR)/life.log 2>&1 & life=$$!; \
	  trap 'kill $$life $$gw2 $$gw 2>/dev/null; wait $$life $$gw2 $$gw 2>/dev/null' EXIT INT TERM; \
	  echo "gateway (simulated room jiyao-301) started, log in $(RUNDIR)/gateway.log"; \
	  echo "a working day is played in it again and again (people, a carrier, a window left open), story in $(RUNDIR)/life.log"; \
	  echo "gateway (simulated room jiyao-302, its board the real firmware in simavr) started, log in $(RUNDIR)/gateway-302.log"; \
	  $(BIN)/roomguard-dashboard serve --db $(RUNDIR)/dashboard.db --listen 127.0.0.1:8080 --broker tcp://127.0.0.1:1883 --timezone Asia/Shanghai

# A building (issue 33): ROOMS simulated rooms in one process, each a real
# room (its own log, keys, session, last will), played a working day at
# BUILDING_SPEED, on a Mosquitto started here (port 1884) and watched by one
# console (http://127.0.0.1:8081), each room added with its key's
# fingerprint. docs/simulated-room.md.
ROOMS ?= 200
BUILDING_SPEED ?= 10
BUILDING := $(RUNDIR)/building
building: build tools
	@rm -rf $(BUILDING) && mkdir -p $(BUILDING)
	@$(BIN)/roomguard-dashboard keys --db $(BUILDING)/dashboard.db > $(BUILDING)/console.principal
	@mosquitto -p 1884 > $(BUILDING)/mosquitto.log 2>&1 & mq=$$!; \
	  $(BIN)/roomguard-gateway building --broker tcp://127.0.0.1:1884 --rooms $(ROOMS) --dir $(BUILDING) \
	    --principals $(BUILDING)/console.principal --speed $(BUILDING_SPEED) > $(BUILDING)/building.out 2>&1 & b=$$!; \
	  trap 'kill $$b $$mq 2>/dev/null; wait $$b $$mq 2>/dev/null' EXIT INT TERM; \
	  while [ ! -s $(BUILDING)/fingerprints ]; do sleep 1; kill -0 $$b 2>/dev/null || { cat $(BUILDING)/building.out; exit 1; }; done; \
	  while read -r room fp; do $(BIN)/roomguard-dashboard room add --db $(BUILDING)/dashboard.db --fingerprint "$$fp" $$room >/dev/null || exit 1; done < $(BUILDING)/fingerprints; \
	  echo "$(ROOMS) rooms running (log: $(BUILDING)/building.log); console on http://127.0.0.1:8081"; \
	  $(BIN)/roomguard-dashboard serve --db $(BUILDING)/dashboard.db --listen 127.0.0.1:8081 --metrics-listen 127.0.0.1:9491 \
	    --broker tcp://127.0.0.1:1884 --timezone Asia/Shanghai

# Every test, unit and integration, with the race detector. The fuzz targets'
# seed corpora run as part of the normal tests.
test: tools browser avr cross deps lint
	PROMTOOL=$(PROMTOOL) $(GO) test -race -count=1 -timeout 15m ./...

# gofmt, go vet, and errcheck (pinned with go.mod's tool directive): no
# unchecked error outside the tests but the few .ci/errcheck-excludes.txt
# names with its reasons.
lint: deps
	gofmt -l . | tee /dev/stderr | (! read -r _)
	$(GO) vet ./...
	$(GO) tool errcheck -ignoretests -exclude .ci/errcheck-excludes.txt ./...

test-short: deps
	$(GO) test -short -count=1 ./...

# Speed and memory figures of the issues; see README "Benchmarks".
bench: tools deps
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

# A longer fuzz run of every fuzz target (FUZZTIME each). It goes on past a
# failure, so one finding does not hide the rest, and ends with a summary
# (each target's executions, and what failed); it fails if any target did.
# Go 1.26's fuzz coordinator may end a run at its deadline with "context
# deadline exceeded" and no failing input (go.dev/issue/75804, fixed in
# 1.27): that is said in the summary, not counted as a failure.
FUZZTIME ?= 30s
# How long the fuzzer may minimise each new input (its default, 60 s, held a
# target for seconds at a time and counted no executions meanwhile).
FUZZMINIMIZE ?= 2s
fuzz: deps
	@failed=""; summary=""; \
	for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg 2>&1); rc=$$?; echo "$$out" | tail -n 30; \
	    execs=$$(echo "$$out" | grep -o 'execs: [0-9]*' | tail -n 1); \
	    if [ $$rc -ne 0 ] && echo "$$out" | grep -q '^    context deadline exceeded$$' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      summary="$$summary\nok   $$pkg $$t ($$execs; ended by Go's fuzztime race, go.dev/issue/75804, no input failed)"; \
	    elif [ $$rc -ne 0 ]; then failed="$$failed $$pkg.$$t"; summary="$$summary\nFAIL $$pkg $$t ($$execs)"; \
	    else summary="$$summary\nok   $$pkg $$t ($$execs)"; fi; \
	  done; done; \
	printf "\n== fuzz summary$$summary\n"; \
	if [ -n "$$failed" ]; then echo "failed:$$failed (inputs in each package's testdata/fuzz)"; exit 1; fi

clean:
	rm -rf $(BIN) $(RUNDIR) $(DIST)
