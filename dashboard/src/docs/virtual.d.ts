// The URL of Scalar's bundle, emitted by the `offlineScalar` plugin in vite.config.ts.
declare module "virtual:scalar" {
  const url: string;
  export default url;
}
