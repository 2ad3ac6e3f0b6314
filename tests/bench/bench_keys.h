/* Fixed keys for gauth-bench and the fuzz targets: three RSA-2048 and
 * three P-256 private keys, generated once with
 *   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
 * Fixed rather than generated per run so that callgrind's instruction
 * counts repeat (RSA key generation alone varies by millions of
 * instructions) and so that committed fuzz seeds stay valid. TEST KEYS:
 * they protect nothing. */
#ifndef GAUTH_BENCH_KEYS_H
#define GAUTH_BENCH_KEYS_H

static const char bench_rsa1_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCzS1a61XLHDM56\n"
    "GeouzRlBOIMwMcetYpDJjToK5MnXD7DvHOOtYkX//7gaFjCyK+gc2uGErcs/Z1Uw\n"
    "wb9btUDFBe+SiQZ8OgSOyZEBCwlarmPa++V+Y3esuCGNWVPRY6FZ3L3Vkatm6oFE\n"
    "oqO02ExbscNWz3MeU+fn1Fj7TlA0cw8AKu7MDfHupWNo4zVcbVNSYUgCi7pIgZ38\n"
    "dUbqzV0K9COobGIOpsSIfHRk5ZnHAWXBAWCORp5HsuYJAnU3UpOrijqt2F8q2MBw\n"
    "yLS9PCf/Uu0uIUBCalmfPKaXr5ayIrEadRgRG33X7BOiRv3Hid/t10SmSaj4cVbk\n"
    "hZ1a+xD3AgMBAAECggEAF/CYpVxtdZkxff7f1LKbYKivEPb/S8NmxG1lsUwDN1gS\n"
    "WUW+O3RtFwA0u3xNsZHzQtxm/amcWIbvn7xUVLvK6NkguAGGgCfZsUcbZCGZH3vm\n"
    "5rfOWNCR4NoP1ikglqDQS94RlZFcauLSXTEU3XIpdUTdvvBMKrcsC+RqooOTv1eJ\n"
    "Sbgk1EAsWYTDJG6Txujol/bVaqSVrlidRXPnA4HpwA/FiLKzH7MK/oWsm+JWZ/x5\n"
    "zy2pynlMJoMkKbGRkOy3NxV02OrZm+YC8o8IkYN4GiMYDiJyBBN5GHT2ThWf2O9Q\n"
    "IkbL3NVkjp+2j0lpXp5Ad2biRBN6GVvIEy7eXxlNgQKBgQDzFZJ7fjtUDZpRo2nU\n"
    "LsOPm5ULJhZPKbDkgwXQ2gzkfq6eIbmP1RROCUDPnoiOlj1DSLDY7bBvnZd/IQ7U\n"
    "+yojxmFPCP1eKxlz8D53+YybJ0IbVxakQKtA28jHCTx4hm1vO7M72gMUEtzUGXuO\n"
    "2taMLlQBz47TigOzNKF4pR2vBwKBgQC80hi1GLSaZaILYN1s4DcPjmddi2ItwV3S\n"
    "iLsK0I8XPzBpT4lSzF5PcdWMx3yIc1gSrrSDpQVkJeVCuPnjfMOZ30ANqo8t5KYY\n"
    "aWPhZSH8tPG+ztDgE9dJGDtPnHSBLCljNpehrV2R8i6nIEIIdBpyv7oONdrVXi9/\n"
    "wNnW1bQikQKBgQDd8yF3jo+fNHhl+D5F1ZkMA7O3pUQTbe6tBxEFXEMPUrgffI2Q\n"
    "za6nff1mVMs83eL8D2AiAgzqLMtJ8aY4Q0h7t8PbxUqKc/HekUqIgxumAtdyXTc4\n"
    "LC/xnXwad812As/jE3CYwnuzFXH6W3YcvqXNAvQDXz962PZ95x1UKfcLewKBgQC5\n"
    "ANEcfvxVWscOhvXsuzK3lztHuE2VryQSJ827puTMTilMxZUy/vJYvJwTt1EZEIp2\n"
    "o55Sbdl+anLakQqmDZRIqyjDOx3WRXVH7dri+If4ZgGGhnS5WDdTct6J/i1YcsCK\n"
    "aO7ghlBrsvJq5XxNdBSF4byWN8YV0JaRgY7uo6w/QQKBgHyfmgLCteanT1xzY7fO\n"
    "GickRXONYxdUwgFeTlND0TUViN4Ple8RpvfVmzF/bTiQFFLcXyo0X7zIQHqe0i/w\n"
    "VAN5FhGUswwc3j/PJ8CiDSHdfBC4ojB6zELHsYJiAVBmQ1J6IStHKOLrQ8k+U9ji\n"
    "KSnFAujJXQhk8y3yCAM4hgy0\n"
    "-----END PRIVATE KEY-----\n";

static const char bench_rsa2_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDJ+t588BaHUnSN\n"
    "XaSCLZFD0YuYe6qWx9joVW8oI+Da2iSvINan1/A8EqXCEZnNj83gkKfGjb/e9HKz\n"
    "RDspBdyW9rILEB3tiMs1sOV08E9MvuLICHnw0Wk7laUdWLKRj7RTUACL6yDmM3QO\n"
    "y/sqzVDUkkrvi1g6+F0AQadzb4LsTJPsYx/CTyhYnBm7G+gvXO2yOUvOCdq90BC5\n"
    "G4mBXOcrQWNvcj7Kk6Lyr3rySYKHei/6sRpx5b2bWpyMHgU4vanW246/SW3AKHxI\n"
    "+Z1/748/wu0Xh7b85pr0SdNC7Y1Kk4xftCu5fpo1IoElM++/eIVOx1glM8SGPQTy\n"
    "GXkcS8sRAgMBAAECggEAFAfss8BNw6riQzjTvVNOkkbATOWK0/xK3zPF29m/DYVP\n"
    "2QxtLWUlfpes17POKIxH8yr1cKQTMMXWcD/mjBl4OIKLwrwc87c6y/7YqsHAY5CU\n"
    "xhjNGxxxjsa3AtOOlhAF5rNK8pVlhF769hK1vJdzGjnN87bCj8qc0o8wT6rx9YQv\n"
    "lcUyH84rz2jaoh0mk/xKhqnX4BHXBm7ScxbvPkTGARfMTroBOvSBJk5jtNGSgAge\n"
    "O30WCyrxVStD3gkhYy6blUwOqkwN8R99o9vHXjfDyM3FBLJtlCKHBLm14Ti0/cem\n"
    "/lR7RUcnQwZBn7lrWT0gbCIb32DXYgUpSeGvKTQq/wKBgQDm0G6MJMWMi/kSwLAk\n"
    "F7IT67uCfNz4Viu85aRt/OIo3HcfsLJ+twsaTOefvIiUU9UmnkVoe5i5fuZ+B91S\n"
    "z7mrtqHguOkEYwKIh03sN1Mf5I69kyM5YYsYFMY7BQsD9qcIxr27YPjdm9cdr57s\n"
    "5bEfByi0emMMcMwt9HaXn95+fwKBgQDgBPs3tEq9yagWPf+84Q/C6aFaFv3F5asv\n"
    "fpHbuKDH9oe5HowTTdFbf0IOU7JsWzR0zmpp7orBlL1W41+8xsw6oQl9kGvxV7wv\n"
    "nKtPNWJ52bH1Fj9CKx5B5KowwN13fFmCMy+bJmKK01Ta+1xKQRf69TgxG9lz7cud\n"
    "vTgFPBgObwKBgEpEIH3JSyMI2rCU/Vfvo+XTALdgs7zYBSS3gyu8pYxeO5ofwZ8S\n"
    "CGmC+zgjcpK/UqMlY9HVivOMiF9e6nC909ETZ4ymEpvNu7/wQTtTJdTqNp9622eY\n"
    "IigybwIIgl3ZHC+vutaywgCUJygvHOS+lzoTlJ5Vjs8u8BONSCdLUkzDAoGAdRul\n"
    "iFVDzTsiF56Jll/BMY+YvdPPDikl+EoeTdKSmnYSNX/2khDYJRC9o2e1mleDcJyH\n"
    "nKELAG+VG1r5rWHvWabdozpgc2X+BpXMKDgsJq7bDNh4cUrBIok7PwlTvSbQU/QW\n"
    "KvFCCni3n1JPyLGGq7aNjX6VirkA/JDyPCpSGRkCgYEAlRrIsF3wCubIBhUrfGNr\n"
    "x8gWv1wPGzf3SqH5t06C+d7taz/iOo7MOhw3GEZCfEM+YHEri98qEKTXmR6GSsAI\n"
    "Mb/W66Q/Gn67IgPUV/Xsa9AiIW2/BFItsgVha7PEBeN67OaiKvMEshZKzfkeL9nD\n"
    "WNvM8qi5VFFrFq9YaUlDYkI=\n"
    "-----END PRIVATE KEY-----\n";

static const char bench_rsa3_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQDEVSq705Ku8z9t\n"
    "gr2HNUwAiaWi+owUS5abdMbb0yVaQjTN12v7Dqj93pdN6a+Tq+7tKLhqsOX5Jtki\n"
    "Duerdm2SNQ3snC+lT9+SDMNh1JsbXrrkgAzh+voFXFL3sCRUwGO+77NxjvEx5XPO\n"
    "ZtXlB36YwjdWLULaYRv4Nozd0DSfZHpMQIRvtKFyRyOBCvPX/reKiADzi+KKDEBu\n"
    "3QBNtsiKSiXCL5r4O7LBQ4FbFdqg+QTgoSlfAWXV6loPK8LKNVySYoAZMXQEWSFM\n"
    "2KrLKHSY5wkBrfcQ051NUcL8VWBccfvuU1i6I2Jisu4n4jcY4wwdMMvGoMPH6+2N\n"
    "DRUWQdhlAgMBAAECgf9FNsEZ9jx/8MErmiu2vtNMXTpHeoxnmz49D64LUSSZ7T0w\n"
    "VAF9QG3TEeXFUdzT8okIkpJxCmwIqeliWF7T06xNHucJwwYJAV+P3XADzS/hNkQs\n"
    "yffAsvnxadrV9wLX3ftMFLTuE7Z0IK/y084UL9AxikZ32vz2f8Wce56tk/j5N5Ol\n"
    "oycnq/11F56c0JiK1N7ykd2Q2p3XJp6z/IRYoGP5bpEhAqj7ZF87CR7XRNANk8ut\n"
    "UHy/x/jXA3t7/dNMMMF+6sxA7T4V89JFS7LliQ3Pjr9GbZcCm6ypxrF2BOnV5/za\n"
    "2PY0zFcjxAaOOeHpKJtbe+9ZaCTKARG8+utrKMkCgYEA/UwW5JMhHr0vnIxQydLb\n"
    "Fy3yUD5U28C2EbFn4ee60NU+wZPJXFygvORfPU/NvF+OPdY4Is4YH3PwRdsoplCN\n"
    "q9RlWegHswlXr7Y/GK4nmPoU8QPSzZodCxoYhRd4sKFxzQWRnH+cl+6ucsuo3yLd\n"
    "h5CjD5bUVpGJ+8vcBxYwV60CgYEAxm146BL3zBdt0vZU3/cpi7bQXsWcoB5iWbPv\n"
    "4piip0nCO5ZshCARF4262VBh67PmmO8mnAO9Y9LFZcKfqXu80CARlyuP4ZDKZOZm\n"
    "mV5KCiaozJaIk00FeJxRDP/qhCz5l9SoufLgAqbGUVGU/6OlBkbMuoguTt9yqAaM\n"
    "FhaJepkCgYEAkXwEoiDHoyoykI4fUOylHjkrtl82yklzydHFwwEgUhZJR1IlE8G4\n"
    "KQZalZKirpGL14SVFZieTmJ/HQB15qDZ3lnOJMeatICnNqtMrlZJNBpfsNbrW2Ar\n"
    "UlcYwkjq7zirboDGU8cQIEvdMt47Dn6uEtFGdwvAxkAtqsw6gm+CMLkCgYA+d8hQ\n"
    "h2grgFS6zYH64DzcFzmSHHQqlGYyB0vF8neCYt4bFEglcFLxL1VbhMrPAVvfWaq2\n"
    "Axdkjb5HQvYwzRusCex/wt8RDBwrl71FG0ID4BfUEK/+b4kBZ3S8uvSBmAcbnX9g\n"
    "yu1q6EYW47AcqtARIcjiEG1Dt2TJMQZ5Da9KQQKBgAVhfThdgdJiMi91k/0EpfJ2\n"
    "6OQ2NmoRJ4NaXshxujKZgrarIJbxdR6gRzfR+eTYwI3Fw8I2UHfcgvTnCmb7ETX8\n"
    "yGj5RgeW72C6BNCbLBt6NoLkObTKRvm2A5RUrRmCSHRlyDGuURS3VG1CI5ZA7M3f\n"
    "WO1r2Ld5Y86hSFfDgA9y\n"
    "-----END PRIVATE KEY-----\n";

static const char bench_ec1_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBotSLQVvawx5D92t\n"
    "QGMERRHUObxG4v6nOTkaA5mRC4KhRANCAAQHtTf/E3chMBPhZ6nTHvtmUSp0pJe0\n"
    "7KlmlRURlsotEg4v9XIRH9kWO7s6FQST0q7lYWkPQoJ/AdQ+GO4nc71D\n"
    "-----END PRIVATE KEY-----\n";

static const char bench_ec2_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRwtSeIwkmTSjVbFo\n"
    "aTx9sXzWUoUKRD2vkpPVz1LkT3ChRANCAAR+dowYOFPbuHnfIgtlKGKyKDoWxghw\n"
    "qK+BZQu1L7UdGXfbZ5t22nw2236Ymg1AF8xu/JYOKq3pi0nqkmIvK0Co\n"
    "-----END PRIVATE KEY-----\n";

static const char bench_ec3_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgI5QxnuhMp0q7ZkRj\n"
    "N7QXIRo+DVsb0dix9OepnlUneAGhRANCAAQI7iLRvXHFYUTEwPXlxGSXQduHvahI\n"
    "EQHnDpQBrQbAEycBzn7pSEX2YEbwN5Lt93qrYtUNioPg93fD+AYLYJqA\n"
    "-----END PRIVATE KEY-----\n";

/* Kids as Google publishes them (40 hex digits) for the RSA keys, and
 * short ones, as IAP's, for the EC keys. */
static const char *const bench_rsa_kids[3] = {
    "1f40f0a8ef3d880978dc82f25c3ec317c6a5b781",
    "89ce3598c473af1bda4bff95e6c8736450206fba",
    "c7e04465649ffa606557650c7e65f0a87ae00fe8"};
static const char *const bench_ec_kids[3] = {"0oeLcQ", "bRcZFA", "f9R3yg"};

#endif /* GAUTH_BENCH_KEYS_H */
