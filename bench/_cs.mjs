import { containerSpeed, opensslSpeed } from './crypto-speed.mjs';
for (let r = 0; r < 2; r++) { const o = { e: await opensslSpeed('encrypt'), d: await opensslSpeed('decrypt') }; const c = containerSpeed(Number(process.env.MIB ?? 256) * 1024 * 1024);
console.log(`container ${c.encrypt.toFixed(0)} / ${c.decrypt.toFixed(0)}  openssl ${o.e.toFixed(0)} / ${o.d.toFixed(0)}  ratio ${(c.encrypt/o.e).toFixed(2)} ${(c.decrypt/o.d).toFixed(2)}`); }
