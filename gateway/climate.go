package gateway

import "fmt"

// Reading is what a climate sensor measured.
type Reading struct {
	Temperature float64 `json:"temperature_c"` // °C
	Humidity    float64 `json:"humidity_rh"`   // % relative humidity
}

// ClimateLimits are the room's limits for its climate sensors (防潮):
// paper and magnetic media keep in 14–24 °C and 45–60 % RH (JGJ 25-2010,
// the archive stores' rule); a confidential room is no archive, so the
// defaults alarm only where harm begins: mould above 70 % RH, heat above
// 35 °C, frost and condensation below 5 °C.
type ClimateLimits struct {
	HumidityMax    float64 `json:"humidity_max" yaml:"humidity_max"`
	TemperatureMax float64 `json:"temperature_max" yaml:"temperature_max"`
	TemperatureMin float64 `json:"temperature_min" yaml:"temperature_min"`
}

// DefaultClimateLimits are the limits when the config gives none.
var DefaultClimateLimits = ClimateLimits{HumidityMax: 70, TemperatureMax: 35, TemperatureMin: 5}

// Hysteresis: a reading out of range comes back only this far inside the
// limit, so a value hovering on it does not raise and restore in turn.
const (
	HumidityHysteresis    = 3.0 // % RH
	TemperatureHysteresis = 1.0 // °C
)

// Check tells whether r is out of the limits (wasOut: the sensor's present
// state, for the hysteresis) and why, in words for the alarm.
func (l ClimateLimits) Check(r Reading, wasOut bool) (out bool, why string) {
	hum, hot, cold := l.HumidityMax, l.TemperatureMax, l.TemperatureMin
	if wasOut {
		hum, hot, cold = hum-HumidityHysteresis, hot-TemperatureHysteresis, cold+TemperatureHysteresis
	}
	switch {
	case r.Humidity > hum:
		return true, fmt.Sprintf("too damp: %.1f %% RH (limit %.0f %%)", r.Humidity, l.HumidityMax)
	case r.Temperature > hot:
		return true, fmt.Sprintf("too hot: %.1f °C (limit %.0f °C)", r.Temperature, l.TemperatureMax)
	case r.Temperature < cold:
		return true, fmt.Sprintf("too cold: %.1f °C (limit %.0f °C)", r.Temperature, l.TemperatureMin)
	}
	return false, ""
}
