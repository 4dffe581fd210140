// Package devices is the root of roomguard's hardware drivers, one package per
// device family. Every driver takes an interface (gpio.PinIO, io.Reader),
// never a concrete bus, so tests run the real driver against a fake, and the
// simulated room runs it against a simulated twin.
//
//	contact   binary inputs: door and window contacts, IR detector relays,
//	          tamper loops, safe bolts, exit buttons, panic buttons
//	relay     binary outputs: door strike, siren, indicator
//	gpiohost  pins of the real board, by periph.io name
//	gpiosim   simulated pins, driven by the simulator
//	serialsim pairs of linked pseudo-terminals standing in for serial devices
package devices
