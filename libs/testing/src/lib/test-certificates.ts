import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './run-command';

/** A certificate and its private key, as PEM text and as files. */
export interface TestCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestCertificates {
  /** The temporary directory holding every file below. */
  dir: string;
  /** The CA the tests trust. */
  ca: TestCertificate;
  /** Signed by `ca`, valid for `localhost` and `127.0.0.1`. */
  server: TestCertificate;
  /** A client certificate signed by `ca`. */
  client: TestCertificate;
  /** The key of `client`, encrypted with `passphrase`. */
  encryptedClientKey: { key: string; keyFile: string; passphrase: string };
  /** A CA nobody trusts unless told to. */
  otherCa: TestCertificate;
  /** Signed by `otherCa`, valid for `localhost` only: at `127.0.0.1` its name does not match. */
  otherServer: TestCertificate;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/**
 * Fresh certificates for TLS tests, made with the `openssl` CLI (`OPENSSL` names another) in a
 * temporary directory: two unrelated CAs, a server certificate of each and a client certificate.
 * EC P-256 keys (quick to make), valid for a day.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'shop-certs-'));
  try {
    const ca = await issue(dir, 'ca', '/CN=shop test CA', caExtensions);
    const otherCa = await issue(dir, 'other-ca', '/CN=shop untrusted test CA', caExtensions);
    const server = await issue(dir, 'server', '/CN=localhost', serverExtensions('DNS:localhost,IP:127.0.0.1'), ca);
    const otherServer = await issue(dir, 'other-server', '/CN=localhost', serverExtensions('DNS:localhost'), otherCa);
    const client = await issue(dir, 'client', '/CN=shop test client', clientExtensions, ca);
    const passphrase = 'test passphrase';
    const encryptedKeyFile = join(dir, 'client-encrypted.key');
    await openssl(
      ['pkey', '-in', client.keyFile, '-aes256', '-passout', 'stdin', '-out', encryptedKeyFile],
      passphrase,
    );
    return {
      dir,
      ca,
      server,
      client,
      encryptedClientKey: { key: await readFile(encryptedKeyFile, 'utf8'), keyFile: encryptedKeyFile, passphrase },
      otherCa,
      otherServer,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

const caExtensions = ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign'];
const serverExtensions = (subjectAltName: string) => [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  `subjectAltName = ${subjectAltName}`,
];
const clientExtensions = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = clientAuth',
];

/** A new key and a certificate for it: self-signed without `issuer`, else signed by it. */
async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  issuer?: TestCertificate,
): Promise<TestCertificate> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, `${extensions.join('\n')}\n`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  await openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', csrFile]);
  // `x509 -req` (not `req -x509`) so that only our extensions end up in the certificate.
  const signer = issuer
    ? ['-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-set_serial', serial()]
    : ['-signkey', keyFile];
  await openssl(['x509', '-req', '-in', csrFile, '-days', '1', '-extfile', extFile, ...signer, '-out', certFile]);
  await Promise.all([rm(csrFile), rm(extFile)]);
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, certFile, keyFile };
}

function serial(): string {
  return `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
}

async function openssl(args: string[], input?: string): Promise<void> {
  await runCommand(process.env['OPENSSL'] || 'openssl', args, { input });
}
