// Package contact reads binary inputs on a GPIO pin: door and window reed
// contacts, the relay outputs of IR detectors, tamper loops, safe bolt and
// safe door switches, exit and panic buttons.
//
// How it reads, and why:
//   - Edges on both directions wake the loop; periph's own gpioutil.Debounce is
//     not used because it ignores its edge argument.
//   - WaitForEdge is only ever called with a bounded, positive timeout: its -1
//     and 0 mean different things on the ioctl, sysfs and fake backends.
//   - Every poll interval the level is read even without an edge, so an edge
//     the kernel lost cannot hide a state (an open door stays seen).
//   - A change counts only after the level has held for the debounce time.
package contact
