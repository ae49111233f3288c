// DTDL unit names (dtmi:dtdl:extension:quantitativeTypes) → the symbols people read.
const SYMBOLS: Record<string, string> = {
  metrePerSecond: 'm/s', kilometrePerHour: 'km/h', revolutionPerMinute: 'rpm', radianPerSecond: 'rad/s',
  hertz: 'Hz', kilohertz: 'kHz', watt: 'W', kilowatt: 'kW', megawatt: 'MW', gigawatt: 'GW',
  kilowattHour: 'kWh', megawattHour: 'MWh', wattHour: 'Wh', joule: 'J', kilojoule: 'kJ', megajoule: 'MJ',
  degreeCelsius: '°C', degreeFahrenheit: '°F', kelvin: 'K', degreeOfArc: '°', radian: 'rad',
  metre: 'm', millimetre: 'mm', centimetre: 'cm', kilometre: 'km', micrometre: 'µm',
  millimetrePerSecond: 'mm/s', metrePerSecondSquared: 'm/s²', gForce: 'g',
  second: 's', millisecond: 'ms', minute: 'min', hour: 'h', day: 'd', year: 'a',
  volt: 'V', kilovolt: 'kV', millivolt: 'mV', ampere: 'A', milliampere: 'mA', ohm: 'Ω',
  pascal: 'Pa', kilopascal: 'kPa', bar: 'bar', millibar: 'mbar', poundPerSquareInch: 'psi',
  kilogram: 'kg', gram: 'g', tonne: 't', newton: 'N', newtonMetre: 'N·m', kilonewton: 'kN',
  percent: '%', unity: '', litre: 'l', cubicMetre: 'm³', litrePerSecond: 'l/s', litrePerHour: 'l/h',
  cubicMetrePerHour: 'm³/h', cubicMetrePerSecond: 'm³/s', kilogramPerHour: 'kg/h',
  voltAmpere: 'VA', kilovoltAmpere: 'kVA', voltAmpereReactive: 'var', kilovoltAmpereReactive: 'kvar',
  perSecond: '/s', perMinute: '/min', perHour: '/h', decibel: 'dB', lux: 'lx',
};

export function unitSymbol(unit: string | null | undefined): string {
  if (!unit) return '';
  return SYMBOLS[unit] ?? unit;
}
