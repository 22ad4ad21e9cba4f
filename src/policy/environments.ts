// Environment names: the file name of a policy (`<name>.yaml`) and every reference to it.
export const ENVIRONMENT_NAME = /^[a-z0-9-]{1,63}$/;
