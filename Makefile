# roomguard — make run: a simulated room; make test: every test.
# Both install what they need on a fresh Debian machine.

GO      ?= go
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin
RUNDIR  := run
LIFE_SPEED ?= 1   # make run LIFE_SPEED=10: the simulated day ten times faster
APT     := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: all build run test test-short bench fuzz deps tools browser avr firmware lint clean

all: build

# Debian packages the tests need: Mosquitto is the reference external broker.
tools:
	@command -v mosquitto >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 || \
	  { echo "installing mosquitto"; $(APT) update -qq && $(APT) install -y -qq mosquitto mosquitto-clients >/dev/null; }
	@command -v gcc >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install -y -qq gcc libc6-dev >/dev/null; }

# Debian's Chromium, for the dashboard's browser tests.
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  { echo "installing chromium"; $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; }

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
	@$(BIN)/roomguard-gateway run --sim --config $(RUNDIR)/room.yaml --db $(RUNDIR)/jiyao-301.db > $(RUNDIR)/gateway.log 2>&1 & gw=$$!; \
	  $(BIN)/roomguard-gateway run --sim --board-firmware $(BIN) --config $(RUNDIR)/room-board.yaml --db $(RUNDIR)/jiyao-302.db > $(RUNDIR)/gateway-302.log 2>&1 & gw2=$$!; \
	  $(BIN)/roomguard-gateway life --config $(RUNDIR)/room.yaml --db $(RUNDIR)/jiyao-301.db --speed $(LIFE_SPEED) > $(RUNDIR)/life.log 2>&1 & life=$$!; \
	  trap 'kill $$life $$gw2 $$gw 2>/dev/null; wait $$life $$gw2 $$gw 2>/dev/null' EXIT INT TERM; \
	  echo "gateway (simulated room jiyao-301) started, log in $(RUNDIR)/gateway.log"; \
	  echo "a working day is played in it again and again (people, a carrier, a window left open), story in $(RUNDIR)/life.log"; \
	  echo "gateway (simulated room jiyao-302, its board the real firmware in simavr) started, log in $(RUNDIR)/gateway-302.log"; \
	  $(BIN)/roomguard-dashboard serve --db $(RUNDIR)/dashboard.db --listen 127.0.0.1:8080 --broker tcp://127.0.0.1:1883 --timezone Asia/Shanghai

# Every test, unit and integration, with the race detector. The fuzz targets'
# seed corpora run as part of the normal tests.
test: tools browser avr deps lint
	$(GO) test -race -count=1 -timeout 15m ./...

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

# A longer fuzz run of every fuzz target (FUZZTIME each).
FUZZTIME ?= 30s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

clean:
	rm -rf $(BIN) $(RUNDIR)
