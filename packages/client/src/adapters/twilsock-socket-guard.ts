/**
 * twilsock (under twilio-sync) closes a socket that is still connecting after detaching its error
 * handler. On Node without a global WebSocket it uses `ws`, whose close() of a connecting socket
 * then emits an 'error' event nobody listens to: an uncaught exception that ends the process. It
 * happens whenever a client is shut down mid-connect (a connect timeout, close during a reconnect).
 * This gives every socket the client opens a listener of its own, so that error is dropped (the
 * client was being shut down anyway). The path to the socket is twilsock's internals: when it is
 * not there (a browser's WebSocket, another twilsock layout) nothing is changed.
 */

interface EmitterSocket {
  on(event: 'error', listener: () => void): unknown;
}

interface SocketChannel {
  socket: unknown;
  connect: () => void;
}

const ignore = (): void => undefined;

function isEmitterSocket(socket: unknown): socket is EmitterSocket {
  return typeof (socket as { on?: unknown } | null)?.on === 'function';
}

function findSocketChannel(twilsockClient: unknown): SocketChannel | null {
  const channel = (twilsockClient as { channel?: { websocket?: unknown } } | null)?.channel?.websocket;
  const candidate = channel as Partial<SocketChannel> | undefined;
  return candidate && typeof candidate.connect === 'function' && 'socket' in candidate
    ? (candidate as SocketChannel)
    : null;
}

/** `twilsockClient` is what the SyncClient constructor wrote into its options. */
export function guardTwilsockSockets(twilsockClient: unknown): void {
  const channel = findSocketChannel(twilsockClient);
  if (!channel) return;
  const listen = (): void => {
    if (isEmitterSocket(channel.socket)) channel.socket.on('error', ignore);
  };
  const connect = channel.connect.bind(channel);
  channel.connect = () => {
    connect();
    listen();
  };
  listen(); // the constructor may already have opened the first socket
}
