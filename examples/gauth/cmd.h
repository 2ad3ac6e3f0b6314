/* gauth CLI: the subcommands. Each takes main's argc / argv (argv[1] is the
 * subcommand's name) and returns the exit status (see cli.h). */
#ifndef GAUTH_CLI_CMD_H
#define GAUTH_CLI_CMD_H

int cmd_verify(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_sign_jwt(int argc, char **argv);
int cmd_print_access_token(int argc, char **argv);
int cmd_print_identity_token(int argc, char **argv);
int cmd_metadata(int argc, char **argv);
int cmd_test_permissions(int argc, char **argv);
int cmd_wait_permissions(int argc, char **argv);
int cmd_invoke(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_metadata_server(int argc, char **argv);

#endif /* GAUTH_CLI_CMD_H */
